import { randomBytes, randomInt } from 'node:crypto';

/** A WhatsApp-looking message id (what WhatsApp Web uses: 3EB0 + 18 hex digits). */
export const msgId = (): string => `3EB0${randomBytes(9).toString('hex').toUpperCase()}`;

/** A random 15-digit LID user part. */
export const randomLid = (): string =>
  `${randomInt(1, 9)}${Array.from({ length: 14 }, () => randomInt(0, 10)).join('')}`;

/** Phone digits (drops `+`, spaces, dashes…). */
export function digits(phone: string): string {
  return phone.replace(/\D/g, '');
}

export const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
export const unb64 = (s: string): Buffer => Buffer.from(s, 'base64');

/** `…@s.whatsapp.net` of a phone number. */
export const pnJid = (phone: string): string => `${digits(phone)}@s.whatsapp.net`;
/** `…@lid` of a LID (digits, or already a JID). */
export const lidJid = (lid: string): string => (lid.includes('@') ? lid : `${lid}@lid`);
/** The LID digits of `123…@lid`, `123…:4@lid` or `123…`. */
export const lidUser = (lid: string): string => digits(lid.split('@')[0].split(':')[0]);
