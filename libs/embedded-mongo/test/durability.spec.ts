import { spawn, type ChildProcess } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Document, MongoClient, ObjectId } from 'mongodb';
import { EmbeddedMongoServer } from '../src';
import { usingRealMongo } from './harness';

const describeEmbedded = usingRealMongo ? describe.skip : describe;

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'embedded-mongo-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** Runs `run` with a client of a server on `dataDir`, both closed after it. */
async function withServer<T>(
  dataDir: string,
  run: (client: MongoClient) => Promise<T>,
  options = {},
): Promise<T> {
  const server = await EmbeddedMongoServer.start({ dataDir, ...options });
  const client = await MongoClient.connect(server.uri('durable'));
  try {
    return await run(client);
  } finally {
    await client.close();
    await server.close();
  }
}

describeEmbedded('durability (embedded only)', () => {
  it('keeps data and index definitions across a clean restart', async () => {
    const dataDir = tempDir();
    await withServer(dataDir, async (client) => {
      const users = client.db().collection('users');
      await users.createIndex({ email: 1 }, { unique: true });
      await users.insertMany([
        { email: 'a', n: 1 },
        { email: 'b', n: 2 },
      ]);
      await users.updateOne({ email: 'a' }, { $set: { n: 10 } });
      await users.deleteOne({ email: 'b' });
    });
    await withServer(dataDir, async (client) => {
      const users = client.db().collection('users');
      expect(await users.find({}, { projection: { _id: 0 } }).toArray()).toEqual([
        { email: 'a', n: 10 },
      ]);
      await expect(users.insertOne({ email: 'a' })).rejects.toMatchObject({ code: 11000 });
    });
  });

  it('rebuilds every kind of index from a snapshot, and keeps the fields no index reads', async () => {
    const dataDir = tempDir();
    const docs: Document[] = [
      {
        _id: 1,
        org: 'a',
        at: new Date(1),
        tags: [{ name: 'x' }, { name: 'y' }],
        key: 'k',
        open: true,
        opt: 1,
        text: 'one',
      },
      { _id: 2, org: 'a', at: new Date(2), tags: [], key: 'k', open: false, text: 'two' },
      {
        _id: 3,
        org: 'b',
        at: new Date(3),
        tags: [{ name: 'x' }],
        key: 'j',
        open: true,
        n: 5,
        text: 'three',
      },
    ];
    await withServer(dataDir, async (client) => {
      const coll = client.db().collection('kinds');
      await coll.createIndex({ org: 1, at: -1 });
      await coll.createIndex({ 'tags.name': 1 });
      await coll.createIndex({ key: 1 }, { unique: true, partialFilterExpression: { open: true } });
      await coll.createIndex({ opt: 1 }, { sparse: true });
      // Operators at the top of a partial filter: such a collection is decoded whole.
      await client
        .db()
        .collection('anded')
        .createIndex({ n: 1 }, { partialFilterExpression: { $and: [{ n: { $gt: 1 } }] } });
      await coll.insertMany(docs);
      await client.db().collection('anded').insertMany(docs);
    }); // closing writes the snapshot
    expect(statSync(join(dataDir, 'journal.log')).size).toBe(0);
    await withServer(dataDir, async (client) => {
      const coll = client.db().collection('kinds');
      const ids = async (filter: object) =>
        (await coll.find(filter).sort({ _id: 1 }).toArray()).map((d) => d._id);
      expect(await coll.find().sort({ _id: 1 }).toArray()).toEqual(docs);
      expect(await ids({ org: 'a', at: new Date(2) })).toEqual([2]);
      expect(await ids({ org: 'a' })).toEqual([1, 2]);
      expect(await ids({ 'tags.name': 'x' })).toEqual([1, 3]);
      expect(await ids({ opt: 1 })).toEqual([1]);
      expect(await ids({ key: 'k', open: true })).toEqual([1]);
      await expect(coll.insertOne({ key: 'k', open: true })).rejects.toMatchObject({ code: 11000 });
      await coll.insertOne({ key: 'k', open: false }); // outside the partial index
      const anded = client.db().collection('anded');
      expect((await anded.find({ n: 5 }).toArray()).map((d) => d._id)).toEqual([3]);
      expect(await anded.countDocuments()).toBe(3);
    });
  });

  it('compacts the journal into a snapshot once it passes the threshold', async () => {
    const dataDir = tempDir();
    await withServer(
      dataDir,
      async (client) => {
        const coll = client.db().collection('bulk');
        let largestJournal = 0;
        for (let i = 0; i < 20; i++) {
          await coll.insertMany(
            Array.from({ length: 50 }, (_, j) => ({ i, j, pad: 'x'.repeat(50) })),
          );
          largestJournal = Math.max(largestJournal, statSync(join(dataDir, 'journal.log')).size);
        }
        // A larger snapshot lets the journal grow further before the next rewrite.
        expect(largestJournal).toBeGreaterThan(20_000);
        // Compacted whenever the journal outgrew both the threshold and the snapshot (plus at most
        // the one ~6 KB record that crossed the line).
        const snapshot = statSync(join(dataDir, 'snapshot.bson')).size;
        expect(snapshot).toBeGreaterThan(10_000);
        expect(statSync(join(dataDir, 'journal.log')).size).toBeLessThan(snapshot + 10_000);
      },
      { compactJournalAfterBytes: 10_000 },
    );
    await withServer(dataDir, async (client) =>
      expect(await client.db().collection('bulk').countDocuments()).toBe(1000),
    );
  });

  it('recovers from a torn final journal record', async () => {
    const dataDir = tempDir();
    const server = await EmbeddedMongoServer.start({ dataDir });
    const client = await MongoClient.connect(server.uri('durable'));
    await client
      .db()
      .collection('t')
      .insertMany([{ k: 1 }, { k: 2 }]);
    await client.close();
    // Simulate a crash: copy the journal away before close() folds it into a snapshot.
    const journal = join(dataDir, 'journal.log');
    const journalBytes = readFileSync(journal);
    await server.close();
    rmSync(join(dataDir, 'snapshot.bson'));
    writeFileSync(journal, journalBytes);
    appendFileSync(journal, Buffer.concat([journalBytes.subarray(0, 12), Buffer.from('garbage')]));
    const warnings: string[] = [];
    await withServer(
      dataDir,
      async (reopened) => expect(await reopened.db().collection('t').countDocuments()).toBe(2),
      {
        logger: {
          log: () => undefined,
          warn: (m: string) => warnings.push(m),
          error: () => undefined,
        },
      },
    );
    expect(warnings.join()).toMatch(/torn journal record/);
  });

  it('refuses a journal corrupt before intact records, and cuts it there only when told', async () => {
    const dataDir = tempDir();
    const server = await EmbeddedMongoServer.start({ dataDir });
    const client = await MongoClient.connect(server.uri('durable'));
    for (let k = 0; k < 20; k++) await client.db().collection('t').insertOne({ k });
    await client.close();
    // Simulate a crash (the journal as it was before close() folds it), then damage one byte
    // in the middle: the records after it are intact, acknowledged writes.
    const journal = join(dataDir, 'journal.log');
    const journalBytes = readFileSync(journal);
    await server.close();
    rmSync(join(dataDir, 'snapshot.bson'));
    journalBytes[journalBytes.length >> 1] ^= 0xff;
    writeFileSync(journal, journalBytes);

    await expect(EmbeddedMongoServer.start({ dataDir })).rejects.toThrow(
      /journal .*journal\.log is corrupt at byte \d+ of \d+, and intact records follow from byte \d+/,
    );
    expect(statSync(journal).size).toBe(journalBytes.length); // left as it was
    await withServer(
      dataDir,
      async (reopened) => {
        const kept = await reopened.db().collection('t').countDocuments();
        expect(kept).toBeGreaterThan(0);
        expect(kept).toBeLessThan(20);
      },
      { truncateCorruptJournal: true, logger: { log() {}, warn() {}, error() {} } },
    );
  });

  it('refuses a second server on a locked data directory', async () => {
    const dataDir = tempDir();
    const first = await EmbeddedMongoServer.start({ dataDir });
    await expect(EmbeddedMongoServer.start({ dataDir })).rejects.toThrow(
      /already in use by process/,
    );
    await first.close();
    const second = await EmbeddedMongoServer.start({ dataDir });
    await second.close();
  });

  it('takes over the lock of a crashed earlier process that had the same pid', async () => {
    // In a container the gateway is pid 1 at every start: after a crash (OOM kill, docker kill)
    // the lock holds the pid of the restarted process itself, left by a process that is gone.
    const dataDir = tempDir();
    writeFileSync(join(dataDir, 'embedded-mongo.lock'), `${process.pid}\n0:0\n`);
    const server = await EmbeddedMongoServer.start({ dataDir });
    await expect(EmbeddedMongoServer.start({ dataDir })).rejects.toThrow(/already in use/);
    await server.close();
  });

  it("refuses a data directory locked from another container that has this process's pid", async () => {
    // Two containers sharing a volume both run the gateway as pid 1: the other one's lock names
    // pid 1 and its start time, which this container cannot check (another pid namespace).
    const dataDir = tempDir();
    const lock = join(dataDir, 'embedded-mongo.lock');
    writeFileSync(lock, `${process.pid}\n0:0\nanother-container\n`);
    await expect(EmbeddedMongoServer.start({ dataDir })).rejects.toThrow(
      /already in use by process \d+ on another-container/,
    );
    expect(readFileSync(lock, 'utf8')).toBe(`${process.pid}\n0:0\nanother-container\n`);
  });

  it('keeps every acknowledged write when the server process is SIGKILLed', async () => {
    const dataDir = tempDir();
    const child = spawn(
      process.execPath,
      [join(__dirname, 'fixtures', 'server-child.cjs'), dataDir],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const uri = await firstLine(child);
    await expect(EmbeddedMongoServer.start({ dataDir })).rejects.toThrow(/already in use/);
    const client = await MongoClient.connect(uri, {
      maxPoolSize: 4,
      serverSelectionTimeoutMS: 2_000,
    });
    const coll = client.db().collection('crash');
    const acknowledged: ObjectId[] = [];
    const writers = Array.from({ length: 4 }, async () => {
      for (;;) {
        const _id = new ObjectId();
        try {
          await coll.insertOne({ _id, at: Date.now() });
        } catch {
          return; // the server died mid-flight: this write was never acknowledged
        }
        acknowledged.push(_id);
        if (acknowledged.length === 300) child.kill('SIGKILL');
      }
    });
    await Promise.all(writers);
    await client.close(true);
    await new Promise((resolve) =>
      child.exitCode !== null || child.signalCode !== null
        ? resolve(undefined)
        : child.once('exit', resolve),
    );
    await withServer(dataDir, async (reopened) => {
      const stored = await reopened
        .db('crash')
        .collection('crash')
        .find({}, { projection: { _id: 1 } })
        .toArray();
      const ids = new Set(stored.map((d) => d._id.toHexString()));
      expect(acknowledged.length).toBeGreaterThanOrEqual(300);
      for (const id of acknowledged) expect(ids.has(id.toHexString())).toBe(true);
    });
  }, 30_000);
});

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('\n')) resolve(output.split('\n')[0].trim());
    });
    child.once('exit', (code) => reject(new Error(`child exited early with ${code}`)));
  });
}

describeEmbedded('write concern j: false (embedded only)', () => {
  it('acknowledges without waiting for the journal sync; the next acknowledged write covers it', async () => {
    const dataDir = tempDir();
    const server = await EmbeddedMongoServer.start({ dataDir });
    const client = await MongoClient.connect(server.uri('durable'));
    // A slow disk: every fdatasync takes 300 ms (patched on the builtin, then synced to its ESM view).
    const fs = createRequire(__filename)('node:fs') as typeof import('node:fs');
    const realSync = fs.fdatasync;
    let syncs = 0;
    fs.fdatasync = ((fd: number, done: (error: NodeJS.ErrnoException | null) => void) => {
      syncs++;
      setTimeout(() => realSync(fd, done), 300);
    }) as typeof fs.fdatasync;
    syncBuiltinESMExports();
    try {
      const notes = client.db().collection('notes');
      const started = Date.now();
      await notes.insertOne({ _id: 'fast' } as never, { writeConcern: { j: false } });
      expect(Date.now() - started).toBeLessThan(250);
      expect(syncs).toBe(0);
      await notes.insertOne({ _id: 'durable' } as never);
      expect(Date.now() - started).toBeGreaterThanOrEqual(300);
      expect(syncs).toBe(1);
    } finally {
      fs.fdatasync = realSync;
      syncBuiltinESMExports();
      await client.close();
      await server.close();
    }
    await withServer(dataDir, async (again) => {
      const ids = await again.db().collection('notes').find().toArray();
      expect(ids.map((d) => d._id)).toEqual(['fast', 'durable']);
    });
  });
});

describeEmbedded('a full disk (embedded only)', () => {
  /**
   * Patches the builtin writeSync (and its ESM view) so only `space` more bytes fit on the disk,
   * or (`shortOnce`) so the next write stores half its bytes and says so, as write(2) may.
   */
  function fullDisk() {
    const fs = createRequire(__filename)('node:fs') as typeof import('node:fs');
    const realWrite = fs.writeSync;
    const disk = { space: Infinity, shortOnce: false };
    fs.writeSync = ((fd: number, buffer: Uint8Array, offset?: number | null, length?: number) => {
      offset ??= 0;
      if (fd <= 2) return realWrite(fd, buffer, offset, length);
      const wanted = length ?? buffer.length - offset;
      if (disk.shortOnce && wanted > 1) {
        disk.shortOnce = false;
        return realWrite(fd, buffer, offset, wanted >> 1);
      }
      if (disk.space <= 0)
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), {
          code: 'ENOSPC',
        });
      // As write(2) on a filling disk: what fits is written, and the short count returned.
      const written = realWrite(fd, buffer, offset, Math.min(wanted, disk.space));
      disk.space -= written;
      return written;
    }) as typeof fs.writeSync;
    syncBuiltinESMExports();
    return {
      disk,
      restore() {
        fs.writeSync = realWrite;
        syncBuiltinESMExports();
      },
    };
  }

  it('acknowledges a journaled write whose compaction the full disk refused, and leaves no partial snapshot', async () => {
    const dataDir = tempDir();
    const warnings: string[] = [];
    const server = await EmbeddedMongoServer.start({
      dataDir,
      compactJournalAfterBytes: 2_000,
      logger: {
        log: () => undefined,
        warn: (m: string) => warnings.push(m),
        error: () => undefined,
      },
    });
    const client = await MongoClient.connect(server.uri('durable'));
    const notes = client.db().collection<{ _id: string; pad: string }>('notes');
    const { disk, restore } = fullDisk();
    let snapshotBytes: Buffer;
    let journalBytes: Buffer;
    try {
      await notes.insertOne({ _id: 'a', pad: 'x'.repeat(1_500) });
      // Room for the next journal record, not for a snapshot of both documents.
      disk.space = 2_000;
      await notes.insertOne({ _id: 'b', pad: 'x'.repeat(1_500) });
      expect(existsSync(join(dataDir, 'snapshot.bson.tmp'))).toBe(false);
      expect(warnings.join()).toMatch(/could not fold the journal into a snapshot.*ENOSPC/);
      disk.space = Infinity;
      await notes.insertOne({ _id: 'c', pad: 'x'.repeat(1_500) });
      expect(existsSync(join(dataDir, 'snapshot.bson'))).toBe(false);
      // Retried once the journal has grown by another threshold.
      await notes.insertOne({ _id: 'd', pad: 'x'.repeat(1_500) });
      expect(existsSync(join(dataDir, 'snapshot.bson'))).toBe(true);
      await notes.insertOne({ _id: 'e', pad: '' });
      snapshotBytes = readFileSync(join(dataDir, 'snapshot.bson'));
      journalBytes = readFileSync(join(dataDir, 'journal.log'));
    } finally {
      restore();
      await client.close();
      await server.close();
    }
    // A crash now: the snapshot holds a to d, the journal e.
    writeFileSync(join(dataDir, 'snapshot.bson'), snapshotBytes);
    writeFileSync(join(dataDir, 'journal.log'), journalBytes);
    await withServer(dataDir, async (again) => {
      const ids = await again.db().collection('notes').distinct('_id');
      expect(ids.sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    });
  });

  it('keeps the journal readable, and memory and disk alike, across writes the full disk refused', async () => {
    const dataDir = tempDir();
    const server = await EmbeddedMongoServer.start({ dataDir });
    const client = await MongoClient.connect(server.uri('durable'));
    const notes = client.db().collection<{ _id: string; pad?: string }>('notes');
    const { disk, restore } = fullDisk();
    let journalBytes: Buffer;
    let served: Document[];
    try {
      await notes.insertOne({ _id: 'before' });
      disk.space = 100;
      await expect(notes.insertOne({ _id: 'refused', pad: 'x'.repeat(500) })).rejects.toThrow(
        /ENOSPC/,
      );
      // Reads keep working while the disk is full.
      expect(await notes.countDocuments({ _id: 'before' })).toBe(1);
      disk.space = Infinity; // space freed (old media deleted...)
      await notes.insertOne({ _id: 'after' });
      served = await notes.find().sort({ _id: 1 }).toArray();
      // A crash now: the journal as it is before close() folds it into a snapshot.
      journalBytes = readFileSync(join(dataDir, 'journal.log'));
    } finally {
      restore();
      await client.close();
      await server.close();
    }
    rmSync(join(dataDir, 'snapshot.bson'));
    writeFileSync(join(dataDir, 'journal.log'), journalBytes);
    await withServer(dataDir, async (again) => {
      expect(await again.db().collection('notes').find().sort({ _id: 1 }).toArray()).toEqual(
        served,
      );
      expect(served.map((d) => d._id)).toContain('after');
    });
  });

  it('writes a whole snapshot when a write stores only part of it', async () => {
    const dataDir = tempDir();
    const server = await EmbeddedMongoServer.start({ dataDir });
    const client = await MongoClient.connect(server.uri('durable'));
    const { disk, restore } = fullDisk();
    try {
      await client
        .db()
        .collection('notes')
        .insertOne({ _id: 'kept' } as never);
      await client.close();
      disk.shortOnce = true;
      await server.close(); // folds the journal into a snapshot
    } finally {
      restore();
    }
    await withServer(dataDir, async (again) => {
      expect(await again.db().collection('notes').distinct('_id')).toEqual(['kept']);
    });
  });
});
