/**
 * The embedded store's bulk upserts, as an inbound burst of 500 peers sends them: one bulkWrite of
 * 500 contact upserts (the contacts' 11 indexes, `$set`/`$setOnInsert`/`$min`/`$max`/`$inc`; a
 * new contact's conditional pushName write after it) and one of 500 chat upserts (a unique key
 * plus a `$or` on the chat's last position, 3 indexes), for new targets and for existing ones,
 * next to an insertMany of 500 message-like documents (the messaging bench's floor). The store
 * runs on its thread with a journal (`fsync: 'batch'`), as in the gateway.
 * Run after `npm run build`: `node --expose-gc dist/bench/store-upserts.bench.js`;
 * `STORE_IN_PROCESS=1` runs the store on the main thread, so that `node --cpu-prof` sees its work.
 * The last stdout line is the JSON result: medians over ROUNDS bursts of the wall and CPU
 * milliseconds per bulk command, and each bulk's over the insertMany's.
 */
import { loadavg } from 'node:os';
import { type AnyBulkWriteOperation, type Document, MongoClient, ObjectId } from 'mongodb';
import { EmbeddedMongoServer, EmbeddedMongoThread } from '../libs/embedded-mongo/src';
import { buildSyncUpdate, pushNameUpdate } from '../apps/api/src/contacts/contact-rules';
import { percentile, report, round, settleGc, tempDir } from './support';

const PEERS = 500;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const ORG = new ObjectId().toHexString();
const SESSION = `${ORG}_bench`;

const CONTACT_INDEXES: Document[] = [
  { organizationId: 1, sessionId: 1, jid: 1 },
  { organizationId: 1, sessionId: 1, lid: 1 },
  { organizationId: 1, phone: 1 },
  { organizationId: 1, lastMessageAt: -1 },
  { organizationId: 1, firstSeenAt: 1 },
  { organizationId: 1, tags: 1 },
  { organizationId: 1, customerId: 1 },
  { organizationId: 1, searchCustomName: 1 },
  { organizationId: 1, searchAddressBookName: 1 },
  { organizationId: 1, searchPushName: 1 },
  { organizationId: 1, searchPhone: 1 },
];
const CHAT_INDEXES: Document[] = [
  { sessionId: 1, chatJid: 1 },
  { organizationId: 1, sessionName: 1, lastMessageAt: -1, _id: -1 },
  { organizationId: 1, lastMessageAt: -1, _id: -1 },
];

const phoneOf = (round: number, peer: number) =>
  `2015${String(round).padStart(3, '0')}${String(peer).padStart(5, '0')}`;

/**
 * A contact upsert as ContactsRepository.bulkUpsert sends it (mongoose adds the timestamps), and
 * for a contact not stored yet its conditional pushName write after it.
 */
function contactOps(phone: string, at: Date, isNew: boolean): AnyBulkWriteOperation[] {
  const jid = `${phone}@s.whatsapp.net`;
  const pushName = `Peer ${phone.slice(-5)}`;
  const key = { organizationId: ORG, sessionId: SESSION, jid };
  const update = buildSyncUpdate(
    { jid, phone, isGroup: false, pushName, observedAt: at, message: { at } },
    { organizationId: ORG, sessionId: SESSION, sessionName: 'bench' },
  );
  const upsert: AnyBulkWriteOperation = {
    updateOne: {
      filter: key,
      update: {
        ...update,
        $set: { ...update.$set, updatedAt: at },
        $setOnInsert: { ...update.$setOnInsert, createdAt: at },
      },
      upsert: true,
    },
  };
  if (!isNew) return [upsert];
  const rename = pushNameUpdate(pushName, at);
  return [
    upsert,
    {
      updateOne: {
        filter: {
          ...key,
          pushName: { $ne: pushName },
          $or: [{ pushNameAt: null }, { pushNameAt: { $lte: at } }],
        },
        update: { $set: { ...rename, updatedAt: at } },
      },
    },
  ];
}

/** A chat upsert as the in-order case of ChatsRepository sends it. */
function chatOp(phone: string, at: Date): AnyBulkWriteOperation {
  const id = new ObjectId().toHexString();
  const second = new Date(Math.floor(at.getTime() / 1000) * 1000);
  return {
    updateOne: {
      filter: {
        sessionId: SESSION,
        chatJid: `${phone}@s.whatsapp.net`,
        $or: [
          { lastMessageAt: { $lt: second } },
          {
            lastMessageAt: { $gte: second, $lt: new Date(second.getTime() + 1000) },
            'lastMessage.id': { $lt: id },
          },
        ],
      },
      update: {
        $set: {
          lastMessageAt: at,
          lastMessage: {
            id,
            direction: 'in',
            type: 'text',
            preview: `message ${id}`,
            timestamp: at,
          },
          updatedAt: at,
        },
        $inc: { messageCount: 1, countsVersion: 1, unreadCount: 1 },
        $max: { countedThrough: id },
        $setOnInsert: { organizationId: ORG, sessionName: 'bench', createdAt: at },
      },
      upsert: true,
    },
  };
}

/** A message document like the ingest stores (the insertMany floor's shape). */
function messageDoc(phone: string, at: Date, i: number): Document {
  const jid = `${phone}@s.whatsapp.net`;
  return {
    organizationId: ORG,
    sessionId: SESSION,
    sessionName: 'bench',
    waMessageId: `BENCH${i}${phone}`,
    chatJid: jid,
    senderJid: jid,
    senderPhone: phone,
    direction: 'in',
    type: 'text',
    text: `message ${i}`,
    status: 'delivered',
    timestamp: at,
    createdAt: at,
    updatedAt: at,
  };
}

/**
 * Wall time of one bulk command, and the CPU time the process spent meanwhile (every thread: the
 * client's encoding and the store's work), which a loaded machine inflates less than wall time.
 */
async function timed(run: () => Promise<unknown>): Promise<{ wallMs: number; cpuMs: number }> {
  settleGc();
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  await run();
  const used = process.cpuUsage(cpu);
  return {
    wallMs: Number(process.hrtime.bigint() - started) / 1e6,
    cpuMs: (used.user + used.system) / 1000,
  };
}

const median = (samples: number[]) =>
  round(
    percentile(
      [...samples].sort((a, b) => a - b),
      50,
    ),
  );

async function main(): Promise<void> {
  const data = tempDir('wagw-bench-upserts-');
  const options = { dataDir: data.path, fsync: 'batch' } as const;
  const server = process.env.STORE_IN_PROCESS
    ? await EmbeddedMongoServer.start(options)
    : await EmbeddedMongoThread.start(options);
  const client = await MongoClient.connect(server.uri('bench'));
  try {
    const db = client.db();
    const contacts = db.collection('contacts');
    const chats = db.collection('chats');
    const messages = db.collection('messages');
    for (const key of CONTACT_INDEXES)
      await contacts.createIndex(key, { unique: key.jid === 1 ? true : undefined });
    for (const key of CHAT_INDEXES)
      await chats.createIndex(key, { unique: key.chatJid === 1 ? true : undefined });

    const bulks = ['insertMany', 'contactsNew', 'contactsExisting', 'chatsNew', 'chatsExisting'];
    const samples = new Map(
      bulks.map((name) => [name, { wallMs: [] as number[], cpuMs: [] as number[] }]),
    );
    const measure = async (name: string, run: () => Promise<unknown>) => {
      const { wallMs, cpuMs } = await timed(run);
      samples.get(name)!.wallMs.push(wallMs);
      samples.get(name)!.cpuMs.push(cpuMs);
    };
    for (let r = 0; r < ROUNDS; r++) {
      const phones = Array.from({ length: PEERS }, (_, p) => phoneOf(r, p));
      const first = new Date(Date.UTC(2026, 0, 1, 0, r));
      const next = new Date(first.getTime() + 30_000);
      await measure('insertMany', () =>
        messages.insertMany(phones.map((phone, i) => messageDoc(phone, first, i))),
      );
      await measure('contactsNew', () =>
        contacts.bulkWrite(
          phones.flatMap((phone) => contactOps(phone, first, true)),
          { ordered: false },
        ),
      );
      await measure('contactsExisting', () =>
        contacts.bulkWrite(
          phones.flatMap((phone) => contactOps(phone, next, false)),
          { ordered: false },
        ),
      );
      await measure('chatsNew', () =>
        chats.bulkWrite(
          phones.map((phone) => chatOp(phone, first)),
          { ordered: false },
        ),
      );
      await measure('chatsExisting', () =>
        chats.bulkWrite(
          phones.map((phone) => chatOp(phone, next)),
          { ordered: false },
        ),
      );
    }
    const floor = samples.get('insertMany')!;
    const result: Record<string, unknown> = {
      name: 'store-upserts',
      peers: PEERS,
      rounds: ROUNDS,
      loadAverage: round(loadavg()[0]),
    };
    for (const [name, { wallMs, cpuMs }] of samples) {
      result[`${name}Ms`] = median(wallMs);
      result[`${name}CpuMs`] = median(cpuMs);
      // How many of the floor's insertMany one such bulk costs (the ingest waits on both).
      if (name !== 'insertMany') {
        result[`${name}ToInsertMany`] = round(median(wallMs) / median(floor.wallMs));
        result[`${name}CpuToInsertMany`] = round(median(cpuMs) / median(floor.cpuMs));
      }
    }
    result.documents = {
      contacts: await contacts.estimatedDocumentCount(),
      chats: await chats.estimatedDocumentCount(),
    };
    report(result);
  } finally {
    await client.close();
    await server.close();
    data.remove();
  }
}

void main().catch((error) => {
  console.error(error);
  process.exit(1);
});
