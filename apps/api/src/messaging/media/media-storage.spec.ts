import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { EmbeddedMongoServer } from '@app/embedded-mongo';
import mongoose from 'mongoose';
import { FileMediaStorage } from './file-media-storage';
import { GridFsMediaStorage } from './gridfs-media-storage';
import { MediaGoneError, type MediaStorage } from './media-storage';

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

/** An ObjectId made `agoMs` ago, unique as the driver makes them. */
function idMadeAgo(agoMs: number) {
  const time = Math.floor((Date.now() - agoMs) / 1000).toString(16);
  return new mongoose.Types.ObjectId(time + new mongoose.Types.ObjectId().toHexString().slice(8));
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
        /** A temp file as a crash mid-write leaves it, last written `writtenAgoMs` ago. */
        cutOffWrite: async (_beganAgoMs: number, writtenAgoMs: number) => {
          const tmp = join(dir, `${new mongoose.Types.ObjectId().toHexString()}.4242.tmp`);
          writeFileSync(tmp, 'half');
          const at = new Date(Date.now() - writtenAgoMs);
          utimesSync(tmp, at, at);
        },
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
        // Uploads with chunks but no file: what an upload cut off would leave behind.
        leftovers: async () => {
          const files = await db.collection('media.files').distinct('_id');
          const chunksOf = await db
            .collection('media.chunks')
            .distinct('files_id', { files_id: { $nin: files } });
          return chunksOf.length;
        },
        /** Chunks as a crash mid-upload leaves them (no file document); ids dated as the driver's. */
        cutOffWrite: async (beganAgoMs: number, writtenAgoMs: number) => {
          const data = new mongoose.mongo.Binary(Buffer.alloc(10, 1));
          const filesId = idMadeAgo(beganAgoMs);
          await db.collection('media.chunks').insertMany([
            { _id: idMadeAgo(beganAgoMs), files_id: filesId, n: 0, data },
            { _id: idMadeAgo(writtenAgoMs), files_id: filesId, n: 1, data },
          ]);
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

  it('deletes what writes cut off by a crash left once begun before a time, and nothing else', async () => {
    const whole = Buffer.alloc(700_000, 3); // several chunks in GridFS
    await kit.storage.put(KEY, whole);
    const hours = (n: number) => n * 3_600_000;
    await kit.cutOffWrite(hours(3), hours(2));
    await kit.cutOffWrite(hours(2), hours(2));
    await kit.cutOffWrite(0, 0); // a write under way, maybe
    await kit.cutOffWrite(hours(2), 0); // a slow write, still under way
    expect(await kit.leftovers()).toBe(4);
    expect(await kit.storage.deleteUnfinishedBefore(new Date(Date.now() - hours(1)))).toEqual({
      deleted: 2,
    });
    expect(await kit.leftovers()).toBe(2);
    expect((await kit.storage.read(KEY))?.equals(whole)).toBe(true);
    await kit.storage.deleteUnfinishedBefore(new Date(Date.now() + 60_000));
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

  it('lists the keys in order a page at a time, never ordering the whole directory', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'media-')), 'media');
    const storage = new FileMediaStorage(dir, false, 3);
    const keys = Array.from({ length: 8 }, () => new mongoose.Types.ObjectId().toHexString());
    for (const key of [...keys].reverse()) await storage.put(key, Buffer.from(key));
    writeFileSync(join(dir, `${keys[0]}.4242.tmp`), 'half');
    const sort = vi.spyOn(Array.prototype, 'sort');
    const listed: string[] = [];
    let orderedAtOnce: number[];
    try {
      for await (const key of storage.listStoredBefore(new Date(Date.now() + 60_000), keys[1]))
        listed.push(key);
    } finally {
      orderedAtOnce = sort.mock.contexts.map((names) => (names as unknown[]).length);
      sort.mockRestore();
    }
    expect(listed).toEqual(keys.slice(2));
    expect(Math.max(...orderedAtOnce)).toBe(3); // a page, not the 9 names of the directory
  });

  it('lists every key once and in order whatever the page size', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'media-')), 'media');
    const keys = Array.from({ length: 120 }, () => randomBytes(6).toString('hex')).sort();
    for (const key of keys) await new FileMediaStorage(dir, false).put(key, Buffer.from('x'));
    for (const page of [1, 7, 120, 500]) {
      const listed: string[] = [];
      const storage = new FileMediaStorage(dir, false, page);
      for await (const key of storage.listStoredBefore(new Date(Date.now() + 60_000), keys[9]))
        listed.push(key);
      expect(listed, `page ${page}`).toEqual(keys.slice(10));
    }
  });

  it('has the bytes and their name on disk before a put resolves (a power loss keeps what the store keeps)', async () => {
    const root = mkdtempSync(join(tmpdir(), 'media-'));
    let path = '';
    const put = (dir: string, data: Buffer | Readable, durable?: boolean) => {
      path = join(root, dir, KEY);
      return new FileMediaStorage(join(root, dir), durable).put(KEY, data);
    };
    // What was on disk at each flush: the file's bytes before it is renamed into place, then
    // the directory holding its name.
    const flushed: string[] = [];
    const probe = await open(__filename, 'r');
    const FileHandle = Object.getPrototypeOf(probe) as { sync: () => Promise<void> };
    await probe.close();
    const sync = FileHandle.sync;
    vi.spyOn(FileHandle, 'sync').mockImplementation(async function (this: { fd: number }) {
      flushed.push(existsSync(path) ? 'renamed' : 'written');
      return sync.call(this);
    });
    await put('buffer', Buffer.from('bytes'));
    await put('stream', Readable.from([Buffer.from('x')]));
    expect(flushed).toEqual(['written', 'renamed', 'written', 'renamed']);
    flushed.length = 0;
    // EMBEDDED_MONGO_FSYNC=never: the store itself survives a process crash only; so does media.
    await put('never', Buffer.from('bytes'), false);
    expect(flushed).toEqual([]);
  });

  it('serves the bytes whose size it answered, also when the file is deleted as it is opened', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'media-')), 'media');
    const storage = new FileMediaStorage(dir);
    await storage.put(KEY, Buffer.from('whole'));
    // A failed send's media discarded (or a sweep) between measuring and reading.
    const opened = await storage.open(KEY, () => {
      rmSync(join(dir, KEY));
      return undefined;
    });
    expect(opened?.size).toBe(5);
    expect(await buffer(opened!.stream)).toEqual(Buffer.from('whole'));
  });

  it('refuses keys that could escape the directory', async () => {
    const storage = new FileMediaStorage(mkdtempSync(join(tmpdir(), 'media-')));
    await expect(storage.put('../evil', Buffer.from('x'))).rejects.toThrow('Invalid media key');
  });
});

describe('GridFsMediaStorage, writes a crash cut off', () => {
  let server: EmbeddedMongoServer;
  let connection: mongoose.Connection;
  beforeAll(async () => {
    server = await EmbeddedMongoServer.start({});
    connection = await mongoose.createConnection(server.uri('media_unfinished')).asPromise();
  });
  afterAll(async () => {
    await connection.close();
    await server.close();
  });

  it('reads a bounded number of chunk ids per call, each call going on where the last stopped', async () => {
    const chunks = connection.db!.collection('media.chunks');
    const data = new mongoose.mongo.Binary(Buffer.alloc(10, 1));
    const cutOff = [idMadeAgo(4 * 3_600_000), idMadeAgo(3 * 3_600_000), idMadeAgo(2 * 3_600_000)];
    // Three uploads a crash cut off, two chunks each.
    await chunks.insertMany(
      cutOff.flatMap((filesId) =>
        [0, 1].map((n) => ({ _id: idMadeAgo(2 * 3_600_000), files_id: filesId, n, data })),
      ),
    );
    const storage = new GridFsMediaStorage(connection.db!, 3);
    const read = vi.spyOn(chunks.constructor.prototype as typeof chunks, 'find');
    const before = new Date(Date.now() - 3_600_000);
    const left = async () => (await chunks.distinct('files_id')).map(String).sort();

    const first = await storage.deleteUnfinishedBefore(before);
    // Three chunk ids read: the first upload whole, the second's first chunk.
    expect(first).toEqual({ deleted: 2, next: cutOff[1].toHexString() });
    expect(await left()).toEqual([cutOff[2].toHexString()]);
    expect(await storage.deleteUnfinishedBefore(before, first.next)).toEqual({ deleted: 1 });
    expect(await left()).toEqual([]);
    expect(read.mock.calls.map(([, options]) => options?.limit)).toEqual([3, 3]);
    read.mockRestore();
  });
});

describe('GridFsMediaStorage, media deleted while it is read', () => {
  let server: EmbeddedMongoServer;
  let connection: mongoose.Connection;
  let storage: GridFsMediaStorage;
  beforeAll(async () => {
    server = await EmbeddedMongoServer.start({});
    connection = await mongoose.createConnection(server.uri('media_gone')).asPromise();
    storage = new GridFsMediaStorage(connection.db!);
  });
  afterAll(async () => {
    await connection.close();
    await server.close();
  });

  it('fails the read with MediaGoneError when the file is deleted between its look-up and its first chunk', async () => {
    await storage.put(KEY, Buffer.from('whole'));
    const opened = await storage.open(KEY);
    // A failed send's media discarded (or a sweep) after the look-up: the stream reads nothing yet.
    await storage.delete(KEY);
    await expect(buffer(opened!.stream)).rejects.toBeInstanceOf(MediaGoneError);
  });

  it('fails the read with MediaGoneError, rather than ending it short, when the chunks go after the file was read', async () => {
    await storage.put(KEY, randomBytes(300 * 1024)); // two chunks
    const opened = await storage.open(KEY, () => ({ start: 10, end: 280_000 }));
    const file = await connection.db!.collection('media.files').findOne({ filename: KEY });
    // GridFS deletes the file document first, then the chunks: a read that got the file reads no chunk.
    await connection.db!.collection('media.chunks').deleteMany({ files_id: file!._id });
    await expect(buffer(opened!.stream)).rejects.toBeInstanceOf(MediaGoneError);
    await storage.delete(KEY);
  });
});
