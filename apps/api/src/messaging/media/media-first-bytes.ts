import { Readable } from 'node:stream';

/**
 * `stream` once its first bytes (or its end) came: a read that fails before them (a disk error,
 * the database gone as GridFS reads the first chunk) rejects here, so it is answered as an error
 * rather than with a status and headers that went out before the connection was cut. The stream
 * resolved to ends the given one when it closes (a client gone).
 */
export async function afterFirstBytes(stream: Readable): Promise<Readable> {
  const chunks = stream[Symbol.asyncIterator]();
  const first = await chunks.next();
  async function* all() {
    for (let next = first; !next.done; next = await chunks.next()) yield next.value as Buffer;
  }
  const started = Readable.from(all(), { objectMode: false });
  started.once('close', () => stream.destroy());
  return started;
}
