/**
 * Embedded MongoDB store benchmark, driven through the official driver.
 * Run after `npm run build`: `node dist/bench/embedded-mongo.bench.js`.
 * The last stdout line is one JSON object that the bench runner collects.
 *
 * Floors measured in the same run:
 *  (a) a null wire server (decodes each request, answers a canned reply) — protocol + driver cost;
 *  (b) mingo in-process on a plain array with no wire at all.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Long, type Document } from 'bson';
import { Aggregator, Query, updateOne as mingoUpdateOne } from 'mingo';
import { MongoClient, type Collection } from 'mongodb';
import { EmbeddedMongoServer, type EmbeddedMongoOptions } from '../libs/embedded-mongo/src';
import { WireServer } from '../libs/embedded-mongo/src/wire/wire-server';
import { handshakeCommands } from '../libs/embedded-mongo/src/commands/handshake-commands';

const BULK_DOCS = 100_000;
const BULK_BATCH = 1_000;
const SINGLE_OPS = 3_000;
const MINGO_SCAN_OPS = 200; // mingo has no index: each lookup scans all BULK_DOCS
const AGGREGATE_RUNS = 5;

const smallDoc = (i: number): Document => ({
  key: `k${i}`,
  n: i,
  group: `g${i % 100}`,
  active: i % 2 === 0,
});

async function timed(
  operations: number,
  run: (i: number) => Promise<unknown> | unknown,
): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < operations; i++) await run(i);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return Math.round(operations / seconds);
}

interface DriverMetrics {
  insertManyDocsPerSec: number;
  insertOneOpsPerSec: number;
  findOneOpsPerSec: number;
  updateOneOpsPerSec: number;
}

async function driverWorkload(coll: Collection, withIndex: boolean): Promise<DriverMetrics> {
  if (withIndex) await coll.createIndex({ key: 1 }, { unique: true });
  const batches = BULK_DOCS / BULK_BATCH;
  const batchesPerSec = await timed(batches, (b) =>
    coll.insertMany(Array.from({ length: BULK_BATCH }, (_, j) => smallDoc(b * BULK_BATCH + j))),
  );
  const insertOneOpsPerSec = await timed(SINGLE_OPS, (i) =>
    coll.insertOne(smallDoc(BULK_DOCS + i)),
  );
  const randomKey = () => `k${Math.floor(Math.random() * BULK_DOCS)}`;
  const findOneOpsPerSec = await timed(SINGLE_OPS, () => coll.findOne({ key: randomKey() }));
  const updateOneOpsPerSec = await timed(SINGLE_OPS, (i) =>
    coll.updateOne({ key: randomKey() }, { $set: { touched: i } }),
  );
  return {
    insertManyDocsPerSec: batchesPerSec * BULK_BATCH,
    insertOneOpsPerSec,
    findOneOpsPerSec,
    updateOneOpsPerSec,
  };
}

/** Floor (a): the same driver against a server that only decodes and answers canned replies. */
async function nullWireFloor(): Promise<DriverMetrics> {
  const canned: Record<string, (command: Document) => Document> = {
    insert: (command) => ({ n: (command.documents as unknown[]).length, ok: 1 }),
    update: () => ({ n: 1, nModified: 1, ok: 1 }),
    find: (command) => ({
      cursor: {
        firstBatch: [{ _id: 1, ...smallDoc(1) }],
        id: Long.ZERO,
        ns: `${command.$db}.${command.find}`,
      },
      ok: 1,
    }),
  };
  const wire = new WireServer(
    (command, _db, connection) => {
      const name = Object.keys(command)[0];
      if (canned[name]) return canned[name](command);
      const handshake = handshakeCommands[name];
      const context = { connectionId: connection.id } as Parameters<typeof handshake>[1];
      return handshake ? { ...handshake(command, context), ok: 1 } : { ok: 1 };
    },
    () => undefined,
  );
  const port = await wire.listen(0);
  const client = await MongoClient.connect(
    `mongodb://127.0.0.1:${port}/bench?directConnection=true`,
  );
  try {
    return await driverWorkload(client.db().collection('floor'), false);
  } finally {
    await client.close();
    await wire.close();
  }
}

/** Floor (b): mingo on an in-process array — no wire, no driver, no index. */
async function mingoFloor(): Promise<Document> {
  const documents: Document[] = [];
  const insertManyDocsPerSec =
    (await timed(BULK_DOCS / BULK_BATCH, (b) => {
      for (let j = 0; j < BULK_BATCH; j++)
        documents.push({ _id: b * BULK_BATCH + j, ...smallDoc(b * BULK_BATCH + j) });
    })) * BULK_BATCH;
  const randomKey = () => `k${Math.floor(Math.random() * BULK_DOCS)}`;
  const findOneOpsPerSec = await timed(MINGO_SCAN_OPS, () =>
    new Query({ key: randomKey() }).find(documents).limit(1).all(),
  );
  const updateOneOpsPerSec = await timed(MINGO_SCAN_OPS, (i) =>
    mingoUpdateOne(documents, { key: randomKey() }, { $set: { touched: i } }),
  );
  const aggregateMs = await timeAggregate(() => new Aggregator(groupPipeline).run(documents));
  return {
    insertManyDocsPerSec,
    findOneOpsPerSec,
    updateOneOpsPerSec,
    aggregateGroupMs: aggregateMs,
  };
}

const groupPipeline = [{ $group: { _id: '$group', total: { $sum: '$n' }, count: { $sum: 1 } } }];

async function timeAggregate(run: () => Promise<unknown> | unknown): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < AGGREGATE_RUNS; i++) await run();
  return Math.round(Number(process.hrtime.bigint() - started) / 1e6 / AGGREGATE_RUNS);
}

async function embeddedRun(
  options: EmbeddedMongoOptions,
): Promise<DriverMetrics & { aggregateGroupMs: number }> {
  const server = await EmbeddedMongoServer.start(options);
  const client = await MongoClient.connect(server.uri('bench'));
  try {
    const coll = client.db().collection('docs');
    const metrics = await driverWorkload(coll, true);
    const aggregateGroupMs = await timeAggregate(() => coll.aggregate(groupPipeline).toArray());
    return { ...metrics, aggregateGroupMs };
  } finally {
    await client.close();
    await server.close();
  }
}

const ratio = (value: number, floor: number) => Math.round((value / floor) * 100) / 100;

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'embedded-mongo-bench-'));
  try {
    const started = Date.now();
    // The default configuration: journal with one fsync per write command.
    const durable = await embeddedRun({ dataDir: join(dataDir, 'batch'), fsync: 'batch' });
    // Journal written but not fsynced: survives a process crash, not a power loss.
    const unsynced = await embeddedRun({ dataDir: join(dataDir, 'never'), fsync: 'never' });
    const memory = await embeddedRun({});
    const wireFloor = await nullWireFloor();
    const mingo = await mingoFloor();
    const result = {
      name: 'embedded-mongo',
      durable,
      journalWithoutFsync: unsynced,
      memoryOnly: memory,
      floors: { nullWire: wireFloor, mingoInProcess: mingo },
      ratioToNullWire: {
        insertMany: ratio(durable.insertManyDocsPerSec, wireFloor.insertManyDocsPerSec),
        insertOne: ratio(durable.insertOneOpsPerSec, wireFloor.insertOneOpsPerSec),
        findOne: ratio(durable.findOneOpsPerSec, wireFloor.findOneOpsPerSec),
        updateOne: ratio(durable.updateOneOpsPerSec, wireFloor.updateOneOpsPerSec),
      },
      memoryOnlyRatioToNullWire: {
        insertMany: ratio(memory.insertManyDocsPerSec, wireFloor.insertManyDocsPerSec),
        insertOne: ratio(memory.insertOneOpsPerSec, wireFloor.insertOneOpsPerSec),
        findOne: ratio(memory.findOneOpsPerSec, wireFloor.findOneOpsPerSec),
        updateOne: ratio(memory.updateOneOpsPerSec, wireFloor.updateOneOpsPerSec),
      },
      ratioToMingo: {
        insertMany: ratio(durable.insertManyDocsPerSec, mingo.insertManyDocsPerSec as number),
        findOne: ratio(durable.findOneOpsPerSec, mingo.findOneOpsPerSec as number),
        updateOne: ratio(durable.updateOneOpsPerSec, mingo.updateOneOpsPerSec as number),
        aggregateGroupSpeed: ratio(mingo.aggregateGroupMs as number, durable.aggregateGroupMs),
      },
      config: { bulkDocs: BULK_DOCS, bulkBatch: BULK_BATCH, singleOps: SINGLE_OPS, fsync: 'batch' },
      elapsedSeconds: Math.round((Date.now() - started) / 1000),
    };
    console.log(JSON.stringify(result));
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
