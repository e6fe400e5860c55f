import { randomBytes } from 'node:crypto';
import { aesDecryptWithIV, getMediaKeys } from '@whiskeysockets/baileys';
import { decryptMedia, deriveMediaKeys, encryptMedia } from './media-crypto';

describe('WhatsApp media encryption', () => {
  it.each(['image', 'video', 'audio', 'document', 'sticker'])(
    'derives the same %s keys as Baileys',
    async (type) => {
      const mediaKey = randomBytes(32);
      const ours = deriveMediaKeys(mediaKey, type);
      const theirs = await getMediaKeys(mediaKey, type as 'image');
      expect(ours.iv.equals(Buffer.from(theirs.iv!))).toBe(true);
      expect(ours.cipherKey.equals(Buffer.from(theirs.cipherKey!))).toBe(true);
      expect(ours.macKey.equals(Buffer.from(theirs.macKey!))).toBe(true);
    },
  );

  it('encrypts as AES-256-CBC + 10-byte HMAC that Baileys decrypts', async () => {
    const data = randomBytes(1000);
    const enc = encryptMedia(data, 'document');
    expect(enc.encrypted.length).toBe(Math.ceil((1000 + 1) / 16) * 16 + 10);
    const keys = await getMediaKeys(enc.mediaKey, 'document');
    const plain = aesDecryptWithIV(
      enc.encrypted.subarray(0, -10),
      Buffer.from(keys.cipherKey!),
      Buffer.from(keys.iv!),
    );
    expect(plain.equals(data)).toBe(true);
    expect(decryptMedia(enc.encrypted, 'document', enc.mediaKey).equals(data)).toBe(true);
    expect(enc.fileLength).toBe(1000);
  });

  it('rejects a tampered file (MAC)', () => {
    const enc = encryptMedia(randomBytes(64), 'image');
    enc.encrypted[0] ^= 1;
    expect(() => decryptMedia(enc.encrypted, 'image', enc.mediaKey)).toThrow(/MAC/);
  });
});
