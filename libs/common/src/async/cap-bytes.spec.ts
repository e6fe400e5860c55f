import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ByteCap } from './cap-bytes';

const tooLarge = (size: number) => new Error(`too large: ${size}`);

async function collect(source: Readable, cap: ByteCap): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await pipeline(source, cap, async (stream: AsyncIterable<Buffer>) => {
    for await (const chunk of stream) chunks.push(chunk);
  });
  return Buffer.concat(chunks);
}

describe('ByteCap', () => {
  it('passes a stream within the limit through unchanged and counts it', async () => {
    const cap = new ByteCap(5, tooLarge);
    const out = await collect(Readable.from([Buffer.from('ab'), Buffer.from('cde')]), cap);
    expect(out.toString()).toBe('abcde');
    expect(cap.bytes).toBe(5);
  });

  it('fails at the chunk that passes the limit and stops reading the source', async () => {
    let pulled = 0;
    async function* source() {
      for (let i = 0; i < 100; i++) {
        pulled++;
        yield Buffer.alloc(4);
      }
    }
    const cap = new ByteCap(6, tooLarge);
    await expect(collect(Readable.from(source()), cap)).rejects.toThrow('too large: 8');
    expect(pulled).toBeLessThan(10);
  });
});
