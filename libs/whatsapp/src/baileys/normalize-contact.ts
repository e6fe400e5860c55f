import type { Contact } from '@whiskeysockets/baileys';
import type { ContactInfo } from '../engine/wa-connection';
import { resolveJid } from './baileys-jids';

/** Baileys Contact (full or partial update) → ContactInfo; undefined for groups/broadcasts/unknown ids. */
export function normalizeContact(contact: Partial<Contact>): ContactInfo | undefined {
  if (
    !contact.id ||
    contact.id.endsWith('@g.us') ||
    contact.id.endsWith('@broadcast') ||
    contact.id.endsWith('@newsletter')
  )
    return undefined;
  const who = resolveJid(contact.id, contact.phoneNumber, contact.lid);
  if (!who) return undefined;
  return {
    jid: who.jid,
    ...(who.lid ? { lid: who.lid } : {}),
    ...(who.phone ? { phone: who.phone } : {}),
    ...(contact.name ? { name: contact.name } : {}),
    ...(contact.notify ? { notify: contact.notify } : {}),
    ...(contact.verifiedName ? { verifiedName: contact.verifiedName, isBusiness: true } : {}),
    ...(typeof contact.imgUrl === 'string' && contact.imgUrl !== 'changed'
      ? { imgUrl: contact.imgUrl }
      : {}),
  };
}

/**
 * A group's metadata (full, or a `groups.update` change) → the group as a contact, its subject as
 * the address-book name; undefined when it carries no subject (a change of something else).
 */
export function normalizeGroup(group: {
  id?: string | null;
  subject?: string | null;
}): ContactInfo | undefined {
  if (!group.id?.endsWith('@g.us') || !group.subject) return undefined;
  return { jid: group.id, name: group.subject };
}
