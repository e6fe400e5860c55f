import { randomBytes } from 'node:crypto';
import { PNG } from 'pngjs';

/**
 * Bytes that are what they claim to be (by the signatures a content sniffer reads), followed by a
 * random tail so byte-exact round trips are meaningful. Not playable media: only the headers are real.
 */
const withTail = (head: Buffer, size: number) =>
  Buffer.concat([head, randomBytes(Math.max(0, size - head.length))]);

const ftyp = (brand: string) =>
  Buffer.concat([
    Buffer.from([0, 0, 0, 0x18]),
    Buffer.from(`ftyp${brand}`),
    Buffer.alloc(4),
    Buffer.from(`${brand}isom`),
  ]);

export const mediaSample = {
  png: (size = 2048) => withTail(PNG.sync.write(new PNG({ width: 2, height: 2 })), size),
  jpeg: (size = 2048) =>
    withTail(Buffer.from('ffd8ffe000104a46494600010100000100010000', 'hex'), size),
  webp: (size = 2048) =>
    withTail(Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('WEBPVP8 ')]), size),
  mp4: (size = 2048) => withTail(ftyp('mp42'), size),
  ogg: (size = 2048) => withTail(Buffer.from('OggS\0\x02'), size),
  pdf: (size = 2048) => withTail(Buffer.from('%PDF-1.4\n'), size),
};
