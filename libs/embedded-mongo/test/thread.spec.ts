import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { EmbeddedMongoThread } from '../src';

describe('EmbeddedMongoThread (the server on its own thread)', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'embedded-thread-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  const roundTrip = async (thread: EmbeddedMongoThread, write?: object) => {
    const client = await MongoClient.connect(thread.uri('app'));
    try {
      const items = client.db('app').collection('items');
      if (write) await items.insertOne({ ...write });
      return await items.find({}, { projection: { _id: 0 } }).toArray();
    } finally {
      await client.close();
    }
  };

  it('serves clients over the wire and keeps acknowledged writes across a restart on the same directory', async () => {
    const logs: string[] = [];
    const logger = {
      log: () => undefined,
      warn: (m: string) => logs.push(m),
      error: (m: string) => logs.push(m),
    };
    const first = await EmbeddedMongoThread.start({ dataDir, logger });
    expect(first.port).toBeGreaterThan(0);
    expect(await roundTrip(first, { n: 1 })).toEqual([{ n: 1 }]);
    await first.close();
    await first.close(); // idempotent

    const second = await EmbeddedMongoThread.start({ dataDir, logger });
    expect(await roundTrip(second)).toEqual([{ n: 1 }]);
    const memory = await second.memoryUsage({ collectGarbage: true });
    expect(memory.heapUsed).toBeGreaterThan(0);
    expect(memory.heapTotal).toBeGreaterThanOrEqual(memory.heapUsed);
    await second.close();
    expect(logs).toEqual([]);
  });

  it('fails to start with the server error when the data directory is held by a running store', async () => {
    const running = await EmbeddedMongoThread.start({ dataDir });
    try {
      await expect(EmbeddedMongoThread.start({ dataDir })).rejects.toThrow(/lock|in use|locked/i);
    } finally {
      await running.close();
    }
  });

  it('reports a thread that ends without close() instead of passing it over', async () => {
    let reason: string | undefined;
    const thread = await EmbeddedMongoThread.start({ onUnexpectedExit: (r) => (reason = r) });
    // What a crash looks like from the host: the thread is gone without a close.
    await (thread as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(reason).toMatch(/exit code/);
    // Nothing waits forever on a thread that is gone.
    await expect(thread.memoryUsage()).rejects.toThrow(/ended/);
    await expect(thread.close()).rejects.toThrow(/ended before it closed/);
  });
});
