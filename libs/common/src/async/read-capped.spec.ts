import { readCapped } from './read-capped';

async function* chunks(...sizes: number[]) {
  for (const [i, size] of sizes.entries()) yield Buffer.alloc(size, i + 1);
}

describe('readCapped', () => {
  const tooLarge = (size: number) => new Error(`too large: ${size}`);

  it('joins the chunks of a body within the limit, up to exactly the limit', async () => {
    const body = await readCapped(chunks(3, 2), 5, tooLarge);
    expect([...body]).toEqual([1, 1, 1, 2, 2]);
    expect((await readCapped(chunks(), 5, tooLarge)).length).toBe(0);
  });

  it('stops at the first chunk past the limit, reading no further', async () => {
    let read = 0;
    async function* counted() {
      for await (const chunk of chunks(4, 4, 4)) {
        read += 1;
        yield chunk;
      }
    }
    await expect(readCapped(counted(), 6, tooLarge)).rejects.toThrow('too large: 8');
    expect(read).toBe(2);
  });
});
