import type { Readable } from 'node:stream';

export const MEDIA_STORAGE = Symbol('MEDIA_STORAGE');

/** Where message media bytes live: DATA_DIR files with the embedded store, GridFS with a real MongoDB. */
export interface MediaStorage {
  put(key: string, data: Buffer): Promise<void>;
  /** null when the key is unknown. */
  open(key: string): Promise<{ stream: Readable; size: number } | null>;
  read(key: string): Promise<Buffer | null>;
  delete(key: string): Promise<void>;
}

export async function streamToBuffer(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream)
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks);
}
