import { displayNameOf } from './contact-rules';
import type { ContactRecord } from './contacts.repository';
import type { ContactResponseDto } from './dto/contact.dto';

export function toContactDto(c: ContactRecord): ContactResponseDto {
  return {
    id: String(c._id),
    sessionName: c.sessionName,
    jid: c.jid,
    lid: c.lid ?? null,
    phone: c.phone ?? null,
    name: c.customName || c.addressBookName || null,
    customName: c.customName ?? null,
    addressBookName: c.addressBookName ?? null,
    pushName: c.pushName ?? null,
    verifiedName: c.verifiedName ?? null,
    displayName: displayNameOf(c),
    isBusiness: c.isBusiness ?? false,
    isGroup: c.isGroup ?? false,
    profilePictureUrl: c.profilePictureUrl ?? null,
    tags: c.tags ?? [],
    notes: c.notes ?? null,
    customerId: c.customerId ?? null,
    customerLinkSource: c.customerLinkSource ?? null,
    firstSeenAt: c.firstSeenAt,
    lastMessageAt: c.lastMessageAt ?? null,
    messageCount: c.messageCount ?? 0,
    revision: c.revision ?? 0,
  };
}
