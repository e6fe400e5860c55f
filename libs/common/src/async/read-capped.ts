/**
 * Reads a byte stream into one buffer, and stops with `tooLarge(size)` as soon as more than
 * `maxBytes` arrived, so an oversized body is never held in memory whole. The caller destroys the
 * source when it stopped early.
 *
 * `signal`: the signal that cuts the source off (a timeout). A source it aborted may end quietly,
 * as if the body were complete; readCapped then rejects with the signal's reason instead of
 * returning the bytes that arrived before it, so a partial body is never taken for the body.
 */
export async function readCapped(
  source: AsyncIterable<Uint8Array>,
  maxBytes: number,
  tooLarge: (size: number) => Error,
  signal?: AbortSignal,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of source) {
    signal?.throwIfAborted();
    size += chunk.length;
    if (size > maxBytes) throw tooLarge(size);
    chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
  }
  signal?.throwIfAborted();
  return Buffer.concat(chunks, size);
}
