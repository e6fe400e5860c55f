import { Logger } from '@nestjs/common';
import type mongoose from 'mongoose';
import { useEmbeddedConnection } from '@app/embedded-mongo/testing/embedded-connection';
import {
  isChatMessage,
  type MessageRecord,
  type MessageStatus,
  type MessageType,
  wentOut,
} from '../messaging/message.types';
import { StatsBucket, StatsBucketSchema } from './schemas/stats-bucket.schema';
import { StatsChatWait, StatsChatWaitSchema } from './schemas/stats-chat-wait.schema';
import { StatsCountedNote, StatsCountedNoteSchema } from './schemas/stats-counted-note.schema';
import {
  StatsFailureReason,
  StatsFailureReasonSchema,
} from './schemas/stats-failure-reason.schema';
import { StatsMessageState, StatsMessageStateSchema } from './schemas/stats-message-state.schema';
import {
  StatsResponseSample,
  StatsResponseSampleSchema,
} from './schemas/stats-response-sample.schema';
import { responseBin } from './stats-counters';
import { bucketStart } from './stats-range';
import { StatsRecorder } from './stats-recorder.service';
import type { ChatRef, StatsLidSource, StatsMessagesSource } from './stats.ports';
import { StatsRepository } from './stats.repository';

/**
 * Response times as a property: random conversations of one chat, delivered to StatsRecorder in
 * random orders, must leave the samples (and the `rt` histogram of the hour and day buckets) that
 * the messages' own times say, whatever order the events came in.
 *
 * The reference (`expectedSamples`): the chat's live conversational messages sorted by time, an
 * inbound message before an outgoing one of the same millisecond (a reply at the very time of a
 * question answers it, as `awaitingSince <= at` and `firstReplyAt($gte)` say). Only outgoing
 * messages that went out (their final status is sent or beyond) take part: a failed or still
 * pending one answers nothing. Each wait = the first inbound message after the previous reply that
 * went out (or from the start); the next reply that went out answers it; sample = reply - wait.
 *
 * Divergences accepted by design (stats README), kept out of the reference rather than papered
 * over:
 * - History sync takes no part: history messages are generated, and the reference drops them.
 * - Reactions, edits, revokes are not conversational: generated (reactions), dropped likewise.
 * - Two replies of the same millisecond: which of them holds the sample is not defined (the one
 *   handled first, or the lower id when read from the messages); samples are compared as (wait,
 *   reply time) pairs and the sample's id must be a reply of that time.
 * - LID/phone chats of one person and crashes between a sample's writes (at most once) are not
 *   generated here (stats-waits.spec.ts and counter-marks cover them).
 *
 * Events are handled in a random order that respects causality: a
 * message is stored before its created event, a status is stored before its status event, statuses
 * are stored in order; any event may be redelivered later, a status event may overtake the
 * message's created event, inbound and phone messages may come in multi-message batches. In a
 * third of the cases, runs of up to three consecutive events are handled concurrently: those
 * interleavings are not fixed by the seed (a failure prints the case; rerun it with
 * STATS_PROPERTY_SEED and STATS_PROPERTY_CASE, a few times for a concurrent one).
 */
const T0 = Date.parse('2026-01-05T22:10:00Z'); // slots of 25 min cross hours and midnight
const SLOT_MS = 25 * 60_000;
const CASES = Number(process.env.STATS_PROPERTY_CASES ?? 200);
const SEED = Number(process.env.STATS_PROPERTY_SEED ?? 20261206);

/** mulberry32: a small seeded PRNG, so a failing case reproduces from its seed. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = <T>(list: readonly T[]): T => list[int(0, list.length - 1)];
  const chance = (p: number) => next() < p;
  return { next, int, pick, chance };
}
type Rng = ReturnType<typeof prng>;

/** How an outgoing message went: typed on the phone (stored sent), or an API send and its statuses. */
type Fate = 'phone' | 'sent' | 'read' | 'failed' | 'pending';

/** Two chats: a batch may hold messages of both (markAwaitingMany marks several chats at once). */
const CHATS = ['201001234567@s.whatsapp.net', '201007654321@s.whatsapp.net'] as const;

interface Spec {
  id: string;
  chat: (typeof CHATS)[number];
  direction: 'in' | 'out';
  at: number;
  type: MessageType;
  history: boolean;
  fate?: Fate;
}

/** Stored statuses an outgoing message goes through after it was created. */
function statusPath(fate: Fate | undefined): MessageStatus[] {
  switch (fate) {
    case 'phone':
      return ['delivered'];
    case 'sent':
      return ['sent'];
    case 'read':
      return ['sent', 'delivered', 'read'];
    case 'failed':
      return ['failed'];
    default:
      return [];
  }
}
const finalStatus = (s: Spec): MessageStatus =>
  s.direction === 'in'
    ? 'delivered'
    : (statusPath(s.fate).at(-1) ?? (s.fate === 'phone' ? 'sent' : 'pending'));

function generate(rng: Rng, caseNo: number): Spec[] {
  const count = rng.int(2, 8);
  // Few slots: same-millisecond messages are common, some get a few ms on top. Half the cases
  // spread them 10 ms apart instead, so that each slot holds a little conversation in order.
  const spread = rng.chance(0.5);
  return Array.from({ length: count }, (_, i) => {
    const direction = rng.chance(0.5) ? 'in' : 'out';
    return {
      id: `c${String(caseNo).padStart(3, '0')}m${i}`,
      chat: rng.chance(0.75) ? CHATS[0] : CHATS[1],
      direction,
      at: T0 + rng.int(0, 9) * SLOT_MS + (spread ? i * 10 : rng.chance(0.2) ? rng.int(1, 3) : 0),
      type: rng.chance(0.1) ? 'reaction' : 'text',
      history: rng.chance(0.1),
      fate:
        direction === 'out'
          ? rng.pick<Fate>(['phone', 'phone', 'sent', 'read', 'failed', 'pending'])
          : undefined,
    } satisfies Spec;
  });
}

/** The samples by message times (see above), of both chats: [inboundAt, respondedAt] pairs, sorted. */
function expectedSamples(specs: Spec[]): Array<[number, number]> {
  return CHATS.flatMap((chat) => chatSamples(specs.filter((s) => s.chat === chat))).sort(
    (a, b) => a[0] - b[0] || a[1] - b[1],
  );
}

function chatSamples(specs: Spec[]): Array<[number, number]> {
  const live = specs
    .filter(
      (s) => !s.history && isChatMessage(s) && (s.direction === 'in' || wentOut(finalStatus(s))),
    )
    .sort(
      (a, b) => a.at - b.at || (a.direction === b.direction ? 0 : a.direction === 'in' ? -1 : 1),
    );
  const samples: Array<[number, number]> = [];
  let since: number | undefined;
  for (const s of live) {
    if (s.direction === 'in') since ??= s.at;
    else if (since !== undefined) {
      samples.push([since, s.at]);
      since = undefined;
    }
  }
  return samples;
}

/** One step of a delivery schedule: a write to the messages, or an event handled by the recorder. */
type Step =
  | { kind: 'store'; id: string }
  | { kind: 'status'; id: string; status: MessageStatus }
  | { kind: 'created'; ids: string[]; note: string }
  | { kind: 'changed'; id: string; status: MessageStatus };

/**
 * A random order of the steps that respects causality (see above), with some events redelivered.
 * Built as a random topological order over the steps' dependencies.
 */
function schedule(rng: Rng, specs: Spec[]): Step[] {
  const nodes: Array<{ step: Step; after: number[] }> = [];
  const add = (step: Step, after: number[]) => nodes.push({ step, after }) - 1;
  const stored = new Map<string, number>();
  for (const s of specs) stored.set(s.id, add({ kind: 'store', id: s.id }, []));
  // Inbound and phone messages may share an ingest batch (one created event, one note).
  const batched = specs.filter((s) => s.direction === 'in' || s.fate === 'phone');
  const alone = specs.filter((s) => !batched.includes(s));
  const batches: Spec[][] = alone.map((s) => [s]);
  for (const s of batched) {
    const open = batches.filter((b) => b.every((m) => batched.includes(m)));
    if (open.length && rng.chance(0.4)) rng.pick(open).push(s);
    else batches.push([s]);
  }
  const events: number[] = [];
  for (const [i, batch] of batches.entries())
    events.push(
      add(
        { kind: 'created', ids: batch.map((m) => m.id), note: `${batch[0].id}-n${i}` },
        batch.map((m) => stored.get(m.id)!),
      ),
    );
  for (const s of specs) {
    let previous = stored.get(s.id)!;
    for (const status of statusPath(s.fate)) {
      previous = add({ kind: 'status', id: s.id, status }, [previous]);
      events.push(add({ kind: 'changed', id: s.id, status }, [previous]));
    }
  }
  for (const e of events) if (rng.chance(0.15)) add(nodes[e].step, [e]); // redelivered
  const done = new Set<number>();
  const order: Step[] = [];
  while (order.length < nodes.length) {
    const ready = nodes
      .map((n, i) => i)
      .filter((i) => !done.has(i) && nodes[i].after.every((a) => done.has(a)));
    const i = rng.pick(ready);
    done.add(i);
    order.push(nodes[i].step);
  }
  return order;
}

describe('StatsRecorder response times follow message times (property, embedded store)', () => {
  const connectionOf = useEmbeddedConnection('stats-waits-property');
  let stored: MessageRecord[] = [];
  let samples: mongoose.Model<StatsResponseSample>;
  let buckets: mongoose.Model<StatsBucket>;
  let recorder: StatsRecorder;

  const sameChat = (m: MessageRecord, chat: ChatRef) =>
    m.organizationId === chat.organizationId &&
    m.sessionName === chat.sessionName &&
    m.chatJid === chat.chatJid;
  /** As MessagesRepository.firstLiveChatMessage: by timestamp, then id; live chat messages only. */
  const ordered = (list: MessageRecord[]) =>
    list.sort((a, b) => a.timestamp.getTime() - b.timestamp.getTime() || (a._id < b._id ? -1 : 1));
  const live = (chat: ChatRef, direction: 'in' | 'out') =>
    stored.filter(
      (m) =>
        sameChat(m, chat) &&
        m.direction === direction &&
        !m.history &&
        isChatMessage(m) &&
        (direction === 'in' || wentOut(m.status)),
    );
  const pick = (m: MessageRecord | undefined) =>
    m ? { _id: m._id, timestamp: m.timestamp } : null;
  const source: StatsMessagesSource = {
    firstReplyAt: async (chat, from) =>
      pick(ordered(live(chat, 'out').filter((m) => m.timestamp >= from))[0]),
    lastReplyBefore: async (chat, before) =>
      pick(ordered(live(chat, 'out').filter((m) => m.timestamp < before)).at(-1)),
    firstInboundAfter: async (chat, after) =>
      pick(ordered(live(chat, 'in').filter((m) => m.timestamp > after))[0]),
  };
  const lids: StatsLidSource = { phoneOf: async () => undefined, lidOf: async () => undefined };

  beforeAll(async () => {
    const c = connectionOf();
    buckets = c.model(StatsBucket.name, StatsBucketSchema);
    const states = c.model(StatsMessageState.name, StatsMessageStateSchema);
    const failures = c.model(StatsFailureReason.name, StatsFailureReasonSchema);
    const waits = c.model(StatsChatWait.name, StatsChatWaitSchema);
    samples = c.model(StatsResponseSample.name, StatsResponseSampleSchema);
    const notes = c.model(StatsCountedNote.name, StatsCountedNoteSchema);
    const repository = new StatsRepository(buckets, states, failures, waits, samples, notes);
    // The delivery counters (sent, received, byStatus, failure reasons) take no part in response
    // times and cost five round trips per event on the store: their marked writes are left out
    // here (stats-waits.spec.ts, counter-marks and the e2e tests cover them). The message states
    // stay real: whether a status moved one from pending decides whether a reply answers.
    Object.assign(repository, {
      claimNotes: async (claims: Array<{ _id: string }>) => new Set(claims.map((c) => c._id)),
      pendingNoteClaims: async () => [],
      pendingStates: async () => [],
      applyMarked: async () => undefined,
      clearPendingStates: async () => undefined,
      clearPendingNoteClaims: async () => undefined,
      releaseMarkers: async () => undefined,
    } satisfies Partial<StatsRepository>);
    recorder = new StatsRecorder(repository, source, lids);
  });

  /** Runs one case in its own session (so cases share nothing); returns what differs, if anything. */
  async function runCase(caseNo: number, rng: Rng) {
    const specs = generate(rng, caseNo);
    const steps = schedule(rng, specs);
    // A third of the cases handle runs of up to three consecutive events at once, as the event
    // emitter may (their interleaving on the store varies from run to run).
    const concurrent = rng.chance(1 / 3);
    const sessionName = `s${caseNo}`;
    const records = new Map<string, MessageRecord>();
    for (const s of specs)
      records.set(s.id, {
        _id: s.id,
        organizationId: 'org1',
        sessionId: `org1_${sessionName}`,
        sessionName,
        direction: s.direction,
        chatJid: s.chat,
        fromMe: s.direction === 'out',
        type: s.type,
        status: s.direction === 'in' ? 'delivered' : s.fate === 'phone' ? 'sent' : 'pending',
        ...(s.history ? { history: true } : {}),
        timestamp: new Date(s.at),
        createdAt: new Date(s.at),
        updatedAt: new Date(s.at),
      } as MessageRecord);
    const createdAs = new Map<string, MessageRecord>(); // what the created event carries
    const handle = async (step: Step) => {
      if (step.kind === 'created')
        await recorder.onMessagesCreated({
          sessionId: `org1_${sessionName}`,
          messages: step.ids.map((id) => ({ ...createdAs.get(id)! })),
          notes: [{ id: step.note, messageIds: step.ids }],
        });
      else if (step.kind === 'changed') {
        const m = { ...records.get(step.id)!, status: step.status };
        await recorder.onStatusChanged({ message: m, status: step.status, at: new Date() });
      }
    };
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i];
      if (step.kind === 'store') {
        const m = records.get(step.id)!;
        createdAs.set(m._id, { ...m });
        stored.push(m);
      } else if (step.kind === 'status') {
        records.get(step.id)!.status = step.status;
      } else if (concurrent) {
        let j = i + 1;
        while (j < steps.length && j < i + 3 && ['created', 'changed'].includes(steps[j].kind)) j++;
        await Promise.all(steps.slice(i, j).map(handle));
        i = j - 1;
      } else await handle(step);
    }

    const problems: string[] = [];
    // The recorder logs and swallows its errors (it must not fail Messaging's write): none here.
    for (const [entry] of logged.mock.calls.splice(0))
      problems.push(`recorder error: ${String((entry as { err?: unknown }).err ?? entry)}`);
    const rows = await samples.find({ sessionName }).sort({ inboundAt: 1, respondedAt: 1 }).lean();
    const got = rows.map((r) => [r.inboundAt.getTime(), r.respondedAt.getTime()]);
    const want = expectedSamples(specs);
    if (JSON.stringify(got) !== JSON.stringify(want))
      problems.push(`samples ${JSON.stringify(got)} != reference ${JSON.stringify(want)}`);
    for (const r of rows) {
      const reply = specs.find((s) => s.id === r._id);
      if (
        !reply ||
        reply.direction !== 'out' ||
        reply.at !== r.respondedAt.getTime() ||
        reply.chat !== r.chatJid
      )
        problems.push(
          `sample ${r._id} is not a reply of ${r.chatJid} at ${r.respondedAt.toISOString()}`,
        );
      const ms = r.respondedAt.getTime() - r.inboundAt.getTime();
      if (r.responseMs !== ms || r.bin !== responseBin(ms))
        problems.push(`sample ${r._id} timing ${r.responseMs}/${r.bin} != ${ms}`);
    }
    // The histogram the median is located with: per bucket and bin, the reference samples.
    for (const granularity of ['hour', 'day'] as const) {
      const counted: Record<string, number> = {};
      for (const b of await buckets.find({ sessionName, granularity }).lean())
        for (const [bin, n] of Object.entries(b.rt ?? {}))
          if (n) counted[`${b.bucket.toISOString()}|${bin}`] = n;
      const expected: Record<string, number> = {};
      for (const [since, reply] of want) {
        const key = `${bucketStart(new Date(since), granularity).toISOString()}|${responseBin(reply - since)}`;
        expected[key] = (expected[key] ?? 0) + 1;
      }
      const sorted = (o: Record<string, number>) => JSON.stringify(Object.entries(o).sort());
      if (sorted(counted) !== sorted(expected))
        problems.push(`${granularity} rt ${sorted(counted)} != reference ${sorted(expected)}`);
    }
    return problems.length ? { specs, steps, problems, concurrent } : undefined;
  }

  const logged = vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  afterEach(() => {
    stored = [];
  });
  afterAll(() => logged.mockRestore());

  it(
    `${CASES} random conversations in random delivery orders (seed ${SEED})`,
    { timeout: 120_000 },
    async () => {
      const failures: string[] = [];
      // STATS_PROPERTY_CASE=n runs case n alone (same seed).
      const only = process.env.STATS_PROPERTY_CASE;
      const [from, to] = only ? [Number(only), Number(only) + 1] : [0, CASES];
      for (let caseNo = from; caseNo < to && failures.length < 3; caseNo++) {
        const failure = await runCase(caseNo, prng(SEED + caseNo));
        if (failure)
          failures.push(
            [
              `case ${caseNo} (prng seed ${SEED + caseNo}${failure.concurrent ? ', concurrent' : ''}):`,
              ...failure.problems,
              'messages: ' +
                failure.specs
                  .map(
                    (s) =>
                      `${s.id} chat${CHATS.indexOf(s.chat)} ${s.direction} +${s.at - T0}${s.type === 'text' ? '' : ` ${s.type}`}` +
                      `${s.history ? ' history' : ''}${s.fate ? ` ${s.fate}` : ''}`,
                  )
                  .join('; '),
              'steps: ' +
                failure.steps
                  .map((s) =>
                    s.kind === 'created'
                      ? `created(${s.ids.join(',')})`
                      : s.kind === 'store'
                        ? `store(${s.id})`
                        : `${s.kind}(${s.id}→${s.status})`,
                  )
                  .join(' '),
            ].join('\n  '),
          );
      }
      expect(failures).toEqual([]);
    },
  );
});
