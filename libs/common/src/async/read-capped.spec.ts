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

describe('readCapped with the signal that cuts the source off', () => {
  const tooLarge = (size: number) => new Error(`too large: ${size}`);

  /** A source that, once the signal fires, ends quietly as if the body were complete. */
  async function* cutOffQuietly(signal: AbortSignal, controller: AbortController) {
    yield Buffer.alloc(3, 1);
    controller.abort(new Error('timed out'));
    if (signal.aborted) return;
    yield Buffer.alloc(3, 2);
  }

  it('rejects with the reason when the source ended because the signal aborted it', async () => {
    const controller = new AbortController();
    await expect(
      readCapped(cutOffQuietly(controller.signal, controller), 10, tooLarge, controller.signal),
    ).rejects.toThrow('timed out');
  });

  it('rejects a source that was empty when the signal had already fired', async () => {
    const controller = new AbortController();
    controller.abort(new Error('timed out'));
    await expect(readCapped(chunks(), 10, tooLarge, controller.signal)).rejects.toThrow(
      'timed out',
    );
  });

  it('stops at the first chunk that arrives after the signal fired', async () => {
    const controller = new AbortController();
    let read = 0;
    async function* late() {
      yield Buffer.alloc(2);
      read += 1;
      controller.abort(new Error('timed out'));
      yield Buffer.alloc(2);
      read += 1;
      yield Buffer.alloc(2);
    }
    await expect(readCapped(late(), 10, tooLarge, controller.signal)).rejects.toThrow('timed out');
    expect(read).toBe(1);
  });

  it('returns a body that completed while the signal stayed quiet', async () => {
    const body = await readCapped(chunks(2, 2), 10, tooLarge, new AbortController().signal);
    expect([...body]).toEqual([1, 1, 2, 2]);
  });
});
