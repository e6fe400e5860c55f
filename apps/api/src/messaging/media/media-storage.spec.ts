import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { EmbeddedMongoServer } from '@app/embedded-mongo';
import mongoose from 'mongoose';
import { FileMediaStorage } from './file-media-storage';
import { GridFsMediaStorage } from './gridfs-media-storage';
import type { MediaStorage } from './media-storage';

const KEY = '665f1c2b1e6a3e4f7e9d0e0d';

function chunked(bytes: Buffer, size: number): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size));
  return Readable.from(parts);
}

/** Yields `good` chunks, then fails, as a download cut off by its size limit or the network. */
function failingAfter(good: number): Readable {
  return Readable.from(
    (async function* () {
      for (let i = 0; i < good; i++) yield Buffer.alloc(1000, i);
      throw new Error('connection reset');
    })(),
  );
}

describe.each([
  {
    name: 'FileMediaStorage',
    setUp: async () => {
      const dir = join(mkdtempSync(join(tmpdir(), 'media-')), 'media');
      return {
        storage: new FileMediaStorage(dir) as MediaStorage,
        // Temp files: what a write cut off would leave behind.
        leftovers: async () => readdirSync(dir).filter((f) => f !== KEY).length,
        tearDown: async () => undefined,
      };
    },
  },
  {
    name: 'GridFsMediaStorage (embedded store)',
    setUp: async () => {
      const server = await EmbeddedMongoServer.start({});
      const connection = await mongoose.createConnection(server.uri('media_test')).asPromise();
      const db = connection.db!;
      return {
        storage: new GridFsMediaStorage(db) as MediaStorage,
        // Chunks of no file: what an upload cut off would leave behind.
        leftovers: async () => {
          const files = await db.collection('media.files').distinct('_id');
          return db.collection('media.chunks').countDocuments({ files_id: { $nin: files } });
        },
        tearDown: async () => {
          await connection.close();
          await server.close();
        },
      };
    },
  },
])('$name', ({ setUp }) => {
  let kit: Awaited<ReturnType<typeof setUp>>;
  beforeAll(async () => (kit = await setUp()));
  afterAll(() => kit.tearDown());
  beforeEach(() => kit.storage.delete(KEY));

  it('stores a buffer and a stream byte-exactly and answers their size', async () => {
    const small = Buffer.from([0, 1, 2, 250, 255]);
    expect(await kit.storage.put(KEY, small)).toBe(5);
    expect(await kit.storage.read(KEY)).toEqual(small);

    const large = Buffer.alloc(700_000, 7);
    large.write('end', large.length - 3);
    expect(await kit.storage.put(KEY, chunked(large, 64 * 1024))).toBe(large.length);
    const opened = await kit.storage.open(KEY);
    expect(opened?.size).toBe(large.length);
    expect((await buffer(opened!.stream)).equals(large)).toBe(true);
    expect(await kit.leftovers()).toBe(0);
  });

  it('reads only the range it is asked for', async () => {
    await kit.storage.put(KEY, Buffer.from('0123456789'));
    const opened = await kit.storage.open(KEY, (size) => ({ start: 2, end: size - 5 }));
    expect(opened?.range).toEqual({ start: 2, end: 5 });
    expect((await buffer(opened!.stream)).toString()).toBe('2345');
  });

  it('stores nothing from a stream that fails, and keeps nothing half-written', async () => {
    await expect(kit.storage.put(KEY, failingAfter(300))).rejects.toThrow('connection reset');
    expect(await kit.storage.open(KEY)).toBeNull();
    expect(await kit.leftovers()).toBe(0);
  });

  it('lists the keys stored before a time in key order, and deletes a key only if stored before it', async () => {
    const pause = () => new Promise((r) => setTimeout(r, 20));
    const [a, b, c] = [
      '665f1c2b1e6a3e4f7e9d0e01',
      '665f1c2b1e6a3e4f7e9d0e02',
      '665f1c2b1e6a3e4f7e9d0e03',
    ];
    await kit.storage.put(b, Buffer.from('b'));
    await kit.storage.put(a, Buffer.from('a'));
    await pause();
    const cutoff = new Date();
    await pause();
    await kit.storage.put(c, Buffer.from('c'));
    const list = async (after?: string) => {
      const keys: string[] = [];
      for await (const key of kit.storage.listStoredBefore(cutoff, after)) keys.push(key);
      return keys.filter((key) => key !== KEY);
    };
    expect(await list()).toEqual([a, b]);
    expect(await list(a)).toEqual([b]);
    expect(await kit.storage.deleteStoredBefore(c, cutoff)).toBe(false);
    expect(await kit.storage.deleteStoredBefore(a, cutoff)).toBe(true);
    expect(await kit.storage.read(a)).toBeNull();
    expect(await kit.storage.read(c)).toEqual(Buffer.from('c'));
    // Stored again since the cutoff (a download retried): kept.
    await kit.storage.put(b, Buffer.from('b2'));
    expect(await kit.storage.deleteStoredBefore(b, cutoff)).toBe(false);
    expect(await kit.storage.read(b)).toEqual(Buffer.from('b2'));
    for (const key of [a, b, c]) await kit.storage.delete(key);
    expect(await kit.leftovers()).toBe(0);
  });

  it('answers null for unknown keys and deletes idempotently', async () => {
    await kit.storage.put(KEY, Buffer.from('x'));
    await kit.storage.delete(KEY);
    await kit.storage.delete(KEY);
    expect(await kit.storage.open(KEY)).toBeNull();
    expect(await kit.storage.read(KEY)).toBeNull();
  });
});

describe('FileMediaStorage keys', () => {
  it('lists nothing before anything was stored, and no temp file of a write', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'media-')), 'media');
    const storage = new FileMediaStorage(dir);
    const listed = async () => {
      const keys: string[] = [];
      for await (const key of storage.listStoredBefore(new Date(Date.now() + 60_000)))
        keys.push(key);
      return keys;
    };
    expect(await listed()).toEqual([]);
    await storage.put(KEY, Buffer.from('x'));
    writeFileSync(join(dir, `${KEY}.4242.tmp`), 'half');
    expect(await listed()).toEqual([KEY]);
  });

  it('refuses keys that could escape the directory', async () => {
    const storage = new FileMediaStorage(mkdtempSync(join(tmpdir(), 'media-')));
    await expect(storage.put('../evil', Buffer.from('x'))).rejects.toThrow('Invalid media key');
  });
});
