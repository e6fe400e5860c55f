import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterFirstBytes } from './media-first-bytes';

describe('afterFirstBytes', () => {
  it('resolves to every byte of the stream, the first ones included', async () => {
    const parts = [Buffer.from('abc'), Buffer.from('def'), Buffer.from('g')];
    const started = await afterFirstBytes(Readable.from(parts));
    expect((await buffer(started)).toString()).toBe('abcdefg');
  });

  it('resolves to an empty stream for one that ends at once', async () => {
    expect(await buffer(await afterFirstBytes(Readable.from([])))).toHaveLength(0);
  });

  it('rejects with the error of a stream that fails before its first bytes', async () => {
    const failing = new Readable({
      read() {
        this.destroy(new Error('EIO: i/o error, read'));
      },
    });
    await expect(afterFirstBytes(failing)).rejects.toThrow('EIO');
    expect(failing.destroyed).toBe(true);
  });

  it('ends the source when the stream it resolved to is destroyed (a client gone)', async () => {
    const source = new Readable({ read() {} });
    source.push(Buffer.from('first'));
    const started = await afterFirstBytes(source);
    started.destroy();
    await new Promise((resolve) => source.once('close', resolve));
    expect(source.destroyed).toBe(true);
  });
});
