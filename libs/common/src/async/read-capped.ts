/**
 * Reads a byte stream into one buffer, and stops with `tooLarge(size)` as soon as more than
 * `maxBytes` arrived, so an oversized body is never held in memory whole. The caller destroys the
 * source when it stopped early.
 */
export async function readCapped(
  source: AsyncIterable<Uint8Array>,
  maxBytes: number,
  tooLarge: (size: number) => Error,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of source) {
    size += chunk.length;
    if (size > maxBytes) throw tooLarge(size);
    chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
  }
  return Buffer.concat(chunks, size);
}
