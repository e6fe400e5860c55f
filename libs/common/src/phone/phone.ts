/**
 * Phone numbers and WhatsApp JIDs. Phones are stored as E.164 digits without '+'.
 * JIDs: `<digits>@s.whatsapp.net` (phone user), `<id>@lid` (privacy id), `<id>@g.us` (group);
 * a device suffix (`:12`) names one linked device of a user.
 */
/** An international number: country code first, so never a leading 0 (a trunk prefix). */
export const PHONE_PATTERN = /^\+?[1-9]\d{9,14}$/;
export const USER_SERVER = 's.whatsapp.net';
export const LID_SERVER = 'lid';
export const GROUP_SERVER = 'g.us';
/**
 * What a JID can address: a phone (its number, as PHONE_PATTERN, plus an optional device), a LID,
 * or a group (`<digits>` or the older `<creator>-<time>`); digits where WhatsApp has digits.
 */
export const JID_PATTERN =
  /^(?:[1-9]\d{5,14}(?::\d+)?@s\.whatsapp\.net|\d{6,20}(?::\d+)?@lid|\d{6,25}(?:-\d{6,12})?@g\.us)$/;

/** Accepts "+20 100 123 4567", "00201001234567", "(555) 123-4567"; returns digits or undefined. */
export function normalizePhone(input: string | undefined | null): string | undefined {
  if (!input) return undefined;
  let digits = input.replace(/[\s().-]/g, '');
  if (digits.startsWith('+')) digits = digits.slice(1);
  else if (digits.startsWith('00')) digits = digits.slice(2);
  return /^\d{7,15}$/.test(digits) ? digits : undefined;
}

export interface DecodedJid {
  user: string;
  server: string;
  device?: number;
}

export function decodeJid(jid: string): DecodedJid | undefined {
  const at = jid.indexOf('@');
  if (at <= 0) return undefined;
  const [user, device] = jid.slice(0, at).split(':');
  const server = jid.slice(at + 1);
  return { user, server, device: device !== undefined ? Number(device) : undefined };
}

/** Strips the device suffix: `20100…:12@s.whatsapp.net` → `20100…@s.whatsapp.net`. */
export function normalizeJid(jid: string): string {
  const decoded = decodeJid(jid);
  return decoded ? `${decoded.user}@${decoded.server}` : jid;
}

export const isLidJid = (jid: string) => jid.endsWith(`@${LID_SERVER}`);
export const isGroupJid = (jid: string) => jid.endsWith(`@${GROUP_SERVER}`);
export const isUserJid = (jid: string) => jid.endsWith(`@${USER_SERVER}`);

/** Phone digits of a phone JID (never of a LID or group). */
export function phoneFromJid(jid: string): string | undefined {
  return isUserJid(jid) ? decodeJid(jid)?.user : undefined;
}

/** A `to` value (phone or JID) → normalized JID. */
export function toJid(to: string): string {
  if (to.includes('@')) return normalizeJid(to);
  const phone = normalizePhone(to);
  if (!phone) throw new Error(`Not a phone number or JID: ${to}`);
  return `${phone}@${USER_SERVER}`;
}
