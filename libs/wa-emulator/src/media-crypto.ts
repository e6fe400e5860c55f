import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  hkdfSync,
  randomBytes,
} from 'node:crypto';

/** HKDF info strings per media type, as WhatsApp (and Baileys' MEDIA_HKDF_KEY_MAPPING) use them. */
const HKDF_INFO: Record<string, string> = {
  image: 'Image',
  sticker: 'Image',
  video: 'Video',
  gif: 'Video',
  ptv: 'Video',
  audio: 'Audio',
  ptt: 'Audio',
  document: 'Document',
  'md-msg-hist': 'History',
  'md-app-state': 'App State',
};

export type EmulatorMediaType = 'image' | 'video' | 'audio' | 'document' | 'sticker';

export interface MediaKeys {
  iv: Buffer;
  cipherKey: Buffer;
  macKey: Buffer;
}

/** mediaKey → iv / cipherKey / macKey (HKDF-SHA256, 112 bytes, info "WhatsApp <Type> Keys"). */
export function deriveMediaKeys(mediaKey: Buffer, type: string): MediaKeys {
  const info = HKDF_INFO[type];
  if (info === undefined) throw new Error(`unknown media type ${type}`);
  const expanded = Buffer.from(
    hkdfSync('sha256', mediaKey, Buffer.alloc(0), `WhatsApp ${info} Keys`, 112),
  );
  return {
    iv: expanded.subarray(0, 16),
    cipherKey: expanded.subarray(16, 48),
    macKey: expanded.subarray(48, 80),
  };
}

export interface EncryptedMedia {
  mediaKey: Buffer;
  /** AES-256-CBC ciphertext followed by the first 10 bytes of its HMAC-SHA256. */
  encrypted: Buffer;
  fileSha256: Buffer;
  fileEncSha256: Buffer;
  fileLength: number;
}

export function encryptMedia(
  plaintext: Buffer,
  type: string,
  mediaKey: Buffer = randomBytes(32),
): EncryptedMedia {
  const { iv, cipherKey, macKey } = deriveMediaKeys(mediaKey, type);
  const cipher = createCipheriv('aes-256-cbc', cipherKey, iv);
  const enc = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const mac = createHmac('sha256', macKey).update(iv).update(enc).digest().subarray(0, 10);
  const encrypted = Buffer.concat([enc, mac]);
  return {
    mediaKey,
    encrypted,
    fileSha256: createHash('sha256').update(plaintext).digest(),
    fileEncSha256: createHash('sha256').update(encrypted).digest(),
    fileLength: plaintext.length,
  };
}

/** Inverse of encryptMedia; checks the MAC. */
export function decryptMedia(encrypted: Buffer, type: string, mediaKey: Buffer): Buffer {
  const { iv, cipherKey, macKey } = deriveMediaKeys(mediaKey, type);
  const enc = encrypted.subarray(0, encrypted.length - 10);
  const mac = createHmac('sha256', macKey).update(iv).update(enc).digest().subarray(0, 10);
  if (!mac.equals(encrypted.subarray(encrypted.length - 10))) throw new Error('media MAC mismatch');
  const decipher = createDecipheriv('aes-256-cbc', cipherKey, iv);
  return Buffer.concat([decipher.update(enc), decipher.final()]);
}
