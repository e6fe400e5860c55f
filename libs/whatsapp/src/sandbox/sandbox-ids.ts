import { randomBytes, randomInt } from 'node:crypto';

/** WhatsApp Web style message id: "3EB0" + 16 uppercase hex chars. */
export const newSandboxMessageId = () => `3EB0${randomBytes(8).toString('hex').toUpperCase()}`;

export const newSandboxQr = (sessionId: string, n: number) =>
  `sandbox-qr:${sessionId}:${n}:${randomBytes(6).toString('hex')}`;

// WhatsApp pairing codes use Crockford-like base32 without ambiguous characters.
const PAIRING_ALPHABET = '123456789ABCDEFGHJKLMNPQRSTVWXYZ';
export const newPairingCode = () =>
  Array.from({ length: 8 }, () => PAIRING_ALPHABET[randomInt(PAIRING_ALPHABET.length)]).join('');

export const phoneToJid = (digits: string) => `${digits}@s.whatsapp.net`;
export const onlyDigits = (phone: string) => phone.replace(/\D/g, '');
