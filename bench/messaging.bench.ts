import 'reflect-metadata';
import { getConnectionToken } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import { loadConfig } from '@app/common';
import { SandboxControl, SessionQueryService, SessionRegistry } from '@app/whatsapp';
import { createApp } from '../apps/api/src/app.setup';
import { SendMessageUseCase } from '../apps/api/src/messaging/send-message.usecase';
import { OrganizationsService } from '../apps/api/src/organizations/organizations.service';
import { report, round, settleGc, tempDir } from './support';

const N = Number(process.env.BENCH_MESSAGES ?? 3000);

/** Resolves with how many times `done` was asked. */
async function waitUntil(
  done: () => Promise<boolean>,
  what: string,
  timeoutMs = 600_000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let checks = 1;
  for (; !(await done()); checks++) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return checks;
}

const waitForCount = (connection: Connection, filter: object, n: number) =>
  waitUntil(
    async () => (await connection.collection('messages').countDocuments(filter)) >= n,
    `${n} messages`,
  );

/** O(1) on both stores: polling must not scan the collections it is waiting for. */
const waitForRows = (connection: Connection, collection: string, n: number) =>
  waitUntil(
    async () => (await connection.collection(collection).estimatedDocumentCount()) >= n,
    `${n} ${collection}`,
  );

/** Waits until `field` summed over the (few) matching documents of `collection` reaches `n`. */
const waitForSum = (
  connection: Connection,
  collection: string,
  field: string,
  n: number,
  match: object = {},
) =>
  waitUntil(async () => {
    const [row] = await connection
      .collection(collection)
      .aggregate([{ $match: match }, { $group: { _id: null, n: { $sum: field } } }])
      .toArray();
    return (row?.n ?? 0) >= n;
  }, `${n} in ${collection}`);

/**
 * The whole pipeline is done when every subscriber has seen every message. Only inbound messages
 * exist while this runs, so plain row counts tell progress; the exact checks run once at the end.
 */
async function waitForPipeline(connection: Connection, n: number, events: number): Promise<void> {
  await waitForRows(connection, 'messages', n);
  await waitForRows(connection, 'events', events);
  await waitForSum(connection, 'stats_buckets', '$received', n, { granularity: 'hour' });
  await waitForSum(connection, 'contacts', '$messageCount', n);
  // The event log handed to its subscribers (webhook fan-out) as well.
  await waitUntil(
    // A batch's range leaves the fan-out ledger once its subscribers ran.
    async () =>
      (await connection
        .collection('event_sequences')
        .countDocuments({ pending: { $exists: true, $ne: {} } })) === 0,
    'event fan-out',
  );
  const received = await connection
    .collection('events')
    .countDocuments({ type: 'message.received' });
  const inbound = await connection.collection('messages').countDocuments({ direction: 'in' });
  if (received < n || inbound < n)
    throw new Error(`expected ${n}: ${inbound} messages, ${received} events`);
}

const serverStatus = (connection: Connection) =>
  connection.db!.admin().command({ serverStatus: 1 });

const opcounters = async (connection: Connection): Promise<Record<string, number>> =>
  (await serverStatus(connection)).opcounters;

/** Documents inserted plus update and delete statements so far (serverStatus, as on mongod). */
async function storeWrites(connection: Connection): Promise<number> {
  const { insert, update, delete: deleted } = await opcounters(connection);
  return insert + update + deleted;
}

/** Requests the store received so far: one per command, a round trip each (as on mongod). */
const storeRequests = async (connection: Connection): Promise<number> =>
  (await serverStatus(connection)).network.numRequests;

async function main(): Promise<void> {
  const data = tempDir('wagw-bench-messaging-');
  const app = await createApp(
    loadConfig({
      NODE_ENV: 'test',
      PORT: '0',
      DATA_DIR: data.path,
      WHATSAPP_ENGINE: 'sandbox',
      LOG_LEVEL: 'silent',
      JWT_SECRET: 'x'.repeat(40),
      SEND_RATE_PER_MINUTE: '0',
      EMBEDDED_MONGO_FSYNC: process.env.EMBEDDED_MONGO_FSYNC ?? 'batch',
    }),
  );
  try {
    await app.init();
    const connection = app.get<Connection>(getConnectionToken());
    const registry = app.get(SessionRegistry);
    const sandbox = app.get(SandboxControl);
    // A real organization: sessions run only for one whose whatsapp module is on (the module gate
    // stops the others within a minute, which a slow run reaches).
    const ORG = String((await app.get(OrganizationsService).create('Bench'))._id);
    const session = await app
      .get(SessionQueryService)
      .create({ organizationId: ORG, sessionName: 'bench' });
    await registry.start(session.sessionId);
    await registry.waitForStatus(session.sessionId, (s) => s === 'qr_ready', 10_000);
    await sandbox.scan(session.sessionId, '201000000001');
    await registry.waitForStatus(session.sessionId, (s) => s === 'connected', 10_000);

    // Inbound: engine events → stored message, chat, contact, stats (every subscriber done).
    // Worst case for batching: 500 peers in turn, so a batch holds ~one message per chat.
    // Also counts the store writes (documents inserted, update and delete statements) per message.
    const burst = async (peers: number, offset: number) => {
      const eventsBefore = await connection.collection('events').estimatedDocumentCount();
      const writesBefore = await storeWrites(connection);
      settleGc(); // every measured phase starts from the same heap state, the floor's runs too
      const start = process.hrtime.bigint();
      for (let i = 0; i < N; i++)
        sandbox.inbound(session.sessionId, {
          from: `20155${String(100_000 + offset + (i % peers)).padStart(7, '0')}`,
          pushName: `Peer ${i % peers}`,
          text: `message ${i}`,
        });
      await waitForPipeline(connection, offset === 0 ? N : 2 * N, eventsBefore + N);
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      // The checks after the pipeline add a few reads, no writes.
      return { seconds, writesPerMessage: ((await storeWrites(connection)) - writesBefore) / N };
    };
    const manyChats = await burst(500, 0);

    // Floor: raw insertMany of equivalent documents on the same store, through the same driver.
    const sample = await connection
      .collection('messages')
      .find({ direction: 'in' }, { projection: { _id: 0 } })
      .sort({ createdAt: 1 })
      .limit(N)
      .toArray();
    // A few hundred milliseconds swing with one GC pause or fsync: the median of 5 fresh runs.
    const rawRuns: number[] = [];
    for (let run = 0; run < 5; run++) {
      settleGc();
      const rawStart = process.hrtime.bigint();
      for (let i = 0; i < sample.length; i += 1000)
        await connection
          .collection(`bench_raw_messages_${run}`)
          .insertMany(sample.slice(i, i + 1000).map((d) => ({ ...d })));
      rawRuns.push(Number(process.hrtime.bigint() - rawStart) / 1e9);
    }
    const rawSeconds = rawRuns.sort((a, b) => a - b)[2];

    // An offline-queue burst: the same number of messages from 20 chats (after the floor, which
    // measured slower with the second burst's 3,000 messages behind it).
    const fewChats = await burst(20, 1000);

    // Send pipeline with rate limiting off: accept → outbox → engine → sent.
    const send = app.get(SendMessageUseCase);
    const sends = Math.min(N, 1000);
    const requestsBefore = await storeRequests(connection);
    settleGc();
    const sendStart = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: sends }, (_, i) =>
        send.execute(ORG, {
          sessionName: 'bench',
          to: `+20155${String(200_000 + (i % 100)).padStart(7, '0')}`,
          text: `out ${i}`,
        }),
      ),
    );
    const acceptedSeconds = Number(process.hrtime.bigint() - sendStart) / 1e9;
    const polls = await waitForCount(connection, { direction: 'out', status: 'sent' }, sends);
    const sendSeconds = Number(process.hrtime.bigint() - sendStart) / 1e9;
    // Less the wait's own polls (one count each).
    const requestsPerSend = ((await storeRequests(connection)) - requestsBefore - polls) / sends;

    const inboundPerSecond = N / manyChats.seconds;
    const fewChatsPerSecond = N / fewChats.seconds;
    const rawPerSecond = sample.length / rawSeconds;
    report({
      name: 'messaging',
      messages: N,
      inboundIngestPerSecond: round(inboundPerSecond, 1),
      rawInsertManyPerSecond: round(rawPerSecond, 1),
      ingestToInsertManyRatio: round(inboundPerSecond / rawPerSecond, 3),
      fewChatsIngestPerSecond: round(fewChatsPerSecond, 1),
      fewChatsToInsertManyRatio: round(fewChatsPerSecond / rawPerSecond, 3),
      targetRatio: 0.5,
      // Store writes per ingested message, and the ratio they allow even if every write cost no
      // more than one of the floor's inserts (upserts and indexed inserts cost more).
      storeWritesPerMessage: round(manyChats.writesPerMessage, 2),
      ratioBoundAtFloorCost: round(1 / manyChats.writesPerMessage, 3),
      fewChatsStoreWritesPerMessage: round(fewChats.writesPerMessage, 2),
      fewChatsRatioBoundAtFloorCost: round(1 / fewChats.writesPerMessage, 3),
      sends,
      sendAcceptedPerSecond: round(sends / acceptedSeconds, 1),
      sendPipelinePerSecond: round(sends / sendSeconds, 1),
      // Round trips to the store of one send: accept, claim, record, every effect (chat, stats,
      // event log), and its share of the outbox's reads.
      storeRequestsPerSend: round(requestsPerSend, 1),
    });
  } finally {
    await app.close();
    data.remove();
  }
}

void main().catch((error) => {
  console.error(error);
  process.exit(1);
});
