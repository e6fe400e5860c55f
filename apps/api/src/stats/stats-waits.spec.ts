import type mongoose from 'mongoose';
import { useEmbeddedConnection } from '@app/embedded-mongo/testing/embedded-connection';
import { type MessageRecord, type MessageStatus, wentOut } from '../messaging/message.types';
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
import { bucketStart } from './stats-range';
import { StatsRecorder } from './stats-recorder.service';
import type { ChatRef, StatsLidSource, StatsMessagesSource } from './stats.ports';
import { StatsRepository } from './stats.repository';

const CHAT = '201001234567@s.whatsapp.net';
const T0 = new Date('2026-01-05T12:00:00Z');
const DAY = 86_400_000;
const at = (offsetMs: number) => new Date(T0.getTime() + offsetMs);

/**
 * The wait logic on the store: StatsRecorder with the real repository, the messages it was given
 * standing in for the messages collection.
 */
describe('StatsRecorder response times (embedded store)', () => {
  const connectionOf = useEmbeddedConnection('stats-waits');
  const stored: MessageRecord[] = [];
  let samples: mongoose.Model<StatsResponseSample>;
  let buckets: mongoose.Model<StatsBucket>;
  let waits: mongoose.Model<StatsChatWait>;
  let states: mongoose.Model<StatsMessageState>;
  let recorder: StatsRecorder;
  let seq = 0;

  const sameChat = (m: MessageRecord, chat: ChatRef) =>
    m.organizationId === chat.organizationId &&
    m.sessionName === chat.sessionName &&
    m.chatJid === chat.chatJid;
  /** As MessagesRepository reads them: by timestamp, then id. */
  const byTime = (list: MessageRecord[]) =>
    list.sort((a, b) => a.timestamp.getTime() - b.timestamp.getTime() || (a._id < b._id ? -1 : 1));
  const first = (list: MessageRecord[]) => byTime(list)[0] ?? null;
  const last = (list: MessageRecord[]) => byTime(list).at(-1) ?? null;
  const repliesIn = (chat: ChatRef) =>
    stored.filter(
      (m) => sameChat(m, chat) && m.direction === 'out' && wentOut(m.status) && !m.history,
    );
  const source: StatsMessagesSource = {
    firstReplyAt: async (chat, from) => first(repliesIn(chat).filter((m) => m.timestamp >= from)),
    lastReplyBefore: async (chat, before) =>
      last(repliesIn(chat).filter((m) => m.timestamp < before)),
    firstInboundAfter: async (chat, after) =>
      first(
        stored.filter(
          (m) => sameChat(m, chat) && m.direction === 'in' && !m.history && m.timestamp > after,
        ),
      ),
  };

  /** LID → phone, as Contacts records what WhatsApp revealed (org1_s1 only). */
  const mappings = new Map<string, string>();
  const lids: StatsLidSource = {
    phoneOf: async (session, lid) =>
      session.sessionId === 'org1_s1' ? mappings.get(lid) : undefined,
    lidOf: async (session, phone) =>
      session.sessionId === 'org1_s1' ? [...mappings].find(([, p]) => p === phone)?.[0] : undefined,
  };

  beforeAll(async () => {
    const c = connectionOf();
    buckets = c.model(StatsBucket.name, StatsBucketSchema);
    states = c.model(StatsMessageState.name, StatsMessageStateSchema);
    const failures = c.model(StatsFailureReason.name, StatsFailureReasonSchema);
    waits = c.model(StatsChatWait.name, StatsChatWaitSchema);
    samples = c.model(StatsResponseSample.name, StatsResponseSampleSchema);
    const notes = c.model(StatsCountedNote.name, StatsCountedNoteSchema);
    recorder = new StatsRecorder(
      new StatsRepository(buckets, states, failures, waits, samples, notes),
      source,
      lids,
    );
  });
  afterEach(async () => {
    stored.length = 0;
    mappings.clear();
    for (const collection of Object.values(connectionOf().collections))
      await collection.deleteMany({});
  });

  function message(
    direction: 'in' | 'out',
    timestamp: Date,
    over: Partial<MessageRecord> = {},
  ): MessageRecord {
    seq += 1;
    return {
      _id: `m${String(seq).padStart(4, '0')}`,
      organizationId: 'org1',
      sessionId: 'org1_s1',
      sessionName: 's1',
      direction,
      chatJid: CHAT,
      fromMe: direction === 'out',
      type: 'text',
      // From the phone: went out at once; an API send is created pending (see `accepted`).
      status: direction === 'out' ? 'sent' : 'delivered',
      timestamp,
      createdAt: new Date(),
      updatedAt: new Date(),
      ...over,
    } as MessageRecord;
  }
  /** Stored, then its created event (one batch each). */
  async function arrive(m: MessageRecord): Promise<MessageRecord> {
    stored.push(m);
    await recorder.onMessagesCreated({
      sessionId: m.sessionId,
      messages: [m],
      notes: [{ id: `note-${m._id}`, messageIds: [m._id] }],
    });
    return m;
  }
  /** A reply accepted for sending: stored pending. */
  const accepted = (timestamp: Date) => arrive(message('out', timestamp, { status: 'pending' }));
  async function moved(
    m: MessageRecord,
    status: MessageStatus,
    replayed?: { replayed: true },
  ): Promise<void> {
    m.status = status;
    await recorder.onStatusChanged({ message: { ...m }, status, at: new Date(), ...replayed });
  }
  const recorded = async () =>
    (await samples.find({}).sort({ inboundAt: 1 }).lean().exec()).map((s) => [s._id, s.responseMs]);
  /**
   * The samples, each with its response time, once the histogram the median is located with was
   * checked to hold the same count per bin in the hour and in the day buckets of their inbound time.
   */
  async function recordedWithHistogram() {
    const rows = await samples.find({}).lean().exec();
    for (const granularity of ['hour', 'day'] as const) {
      const counted: Record<string, number> = {};
      for (const b of await buckets.find({ granularity }).lean().exec())
        for (const [bin, n] of Object.entries(b.rt ?? {}))
          if (n) counted[`${b.bucket.toISOString()}|${bin}`] = n;
      const expected: Record<string, number> = {};
      for (const r of rows) {
        const key = `${bucketStart(r.inboundAt, granularity).toISOString()}|${r.bin}`;
        expected[key] = (expected[key] ?? 0) + 1;
      }
      expect(counted, granularity).toEqual(expected);
    }
    return recorded();
  }
  const waitingSince = async () =>
    (await waits.findOne({}).lean().exec())?.awaitingSince?.toISOString();

  it('an inbound message that opens its wait while the reply is being recorded is answered by it', async () => {
    // The reply went out (status path) while the question, 3 s older, was being ingested: the
    // question's wait opens between the reply's two writes (found nothing waiting; lastOutAt).
    const reply = await accepted(at(3000));
    const question = message('in', T0);
    const original = waits.findOneAndUpdate.bind(waits);
    const spy = vi.spyOn(waits, 'findOneAndUpdate').mockImplementationOnce(((...args: never[]) => {
      const query = original(...(args as unknown as Parameters<typeof original>));
      const exec = query.exec.bind(query);
      query.exec = async () => {
        const result = await exec();
        await arrive(question); // its wait opens now, before the reply's lastOutAt is written
        return result;
      };
      return query;
    }) as never);
    await moved(reply, 'sent');
    spy.mockRestore();
    expect(await recorded()).toEqual([[reply._id, 3000]]);
    expect(await waitingSince()).toBeUndefined();
  });

  /** Runs `meanwhile` once the next `method` query on `model` has answered, before its caller goes on. */
  function between(
    model: mongoose.Model<never>,
    method: 'find' | 'findOneAndUpdate',
    meanwhile: () => Promise<unknown>,
  ) {
    const original = (model[method] as (...a: unknown[]) => mongoose.Query<unknown, never>).bind(
      model,
    );
    return vi.spyOn(model, method).mockImplementationOnce(((...args: unknown[]) => {
      const query = original(...args);
      const exec = query.exec.bind(query);
      query.exec = async () => {
        const result = await exec();
        await meanwhile();
        return result;
      };
      return query;
    }) as never);
  }

  it('a status that overtook created while created was being counted still moves the state and answers', async () => {
    await arrive(message('in', T0));
    const reply = message('out', at(3000), { status: 'pending' });
    stored.push(reply);
    const asCreated = { ...reply };
    // The send went out at once: its status event finds no state yet, and the created event's
    // handler inserts it (pending) before the status handler's own insert.
    const created = () =>
      recorder.onMessagesCreated({
        sessionId: reply.sessionId,
        messages: [asCreated],
        notes: [{ id: `note-${reply._id}`, messageIds: [reply._id] }],
      });
    const spy = between(states as never, 'findOneAndUpdate', created);
    await moved(reply, 'sent');
    spy.mockRestore();
    expect(await recordedWithHistogram()).toEqual([[reply._id, 3000]]);
    const day = await buckets.findOne({ granularity: 'day' }).lean().exec();
    expect(day?.byStatus).toMatchObject({ pending: 0, sent: 1 });
  });

  it('a status moved while created is being counted counts the creation once', async () => {
    const reply = message('out', at(3000), { status: 'pending' });
    stored.push(reply);
    const asCreated = { ...reply };
    // created inserts the state (pending creation noted); the status event moves it and reads
    // that pending creation; created then applies it, clears it and releases its marker; only
    // then does the status handler apply what it read.
    let resume!: () => void;
    const paused = new Promise<void>((r) => (resume = r));
    let moving!: Promise<void>;
    const read = new Promise<void>((readIt) => {
      const advance = states.findOneAndUpdate.bind(states);
      vi.spyOn(states, 'findOneAndUpdate').mockImplementationOnce(((...args: never[]) => {
        const query = advance(...(args as unknown as Parameters<typeof advance>));
        const exec = query.exec.bind(query);
        query.exec = async () => {
          const result = await exec();
          readIt();
          await paused;
          return result;
        };
        return query;
      }) as never);
    });
    const insert = states.insertMany.bind(states);
    vi.spyOn(states, 'insertMany').mockImplementationOnce((async (...args: never[]) => {
      const result = await (insert as (...a: never[]) => Promise<unknown>)(...args);
      moving = moved(reply, 'sent');
      await read;
      return result;
    }) as never);
    await recorder.onMessagesCreated({
      sessionId: reply.sessionId,
      messages: [asCreated],
      notes: [{ id: `note-${reply._id}`, messageIds: [reply._id] }],
    });
    resume();
    await moving;
    vi.restoreAllMocks();
    const day = await buckets.findOne({ granularity: 'day' }).lean().exec();
    expect(day).toMatchObject({ sent: 1, byStatus: { pending: 0, sent: 1 }, byType: { text: 1 } });
  });

  it('an older inbound message of a batch handled while a reply answers the wait starts that wait', async () => {
    await arrive(message('in', at(3000)));
    const reply = await accepted(at(4000));
    // A question 3 s older comes in a batch; the reply goes out (status path) between the batch's
    // read of the chat and its conditional write.
    const older = message('in', T0);
    stored.push(older);
    const spy = between(waits as never, 'find', () => moved(reply, 'sent'));
    await recorder.onMessagesCreated({
      sessionId: older.sessionId,
      messages: [older],
      notes: [{ id: `note-${older._id}`, messageIds: [older._id] }],
    });
    spy.mockRestore();
    expect(await recordedWithHistogram()).toEqual([[reply._id, 4000]]);
    expect(await waitingSince()).toBeUndefined();
  });

  it('a failed reply answers nothing; the wait stays open for the reply that goes out', async () => {
    await arrive(message('in', T0));
    const lost = await accepted(at(1000));
    await moved(lost, 'failed');
    expect(await recorded()).toEqual([]);
    expect(await waitingSince()).toBe(T0.toISOString());
    const real = await accepted(at(60_000));
    await moved(real, 'sent');
    await moved(real, 'delivered'); // a later receipt answers nothing again
    expect(await recorded()).toEqual([[real._id, 60_000]]);
    expect(await waitingSince()).toBeUndefined();
  });

  it('an older conversation arriving late keeps the live wait: each inbound is answered by the next reply in time', async () => {
    await arrive(message('in', T0)); // live "hi"
    await arrive(message('in', at(-5 * DAY))); // an offline queue: a question 5 days old…
    const old = await arrive(message('out', at(-4 * DAY))); // …answered from the phone a day later
    expect(await waitingSince()).toBe(T0.toISOString());
    const live = await accepted(at(500));
    await moved(live, 'sent');
    expect(await recorded()).toEqual([
      [old._id, DAY],
      [live._id, 500],
    ]);
  });

  it('a live reply handled before the late, older answer of its chat still answers only the live wait', async () => {
    // The live reply goes out (status path) while the older answer typed on the phone is still
    // being ingested: the reply first takes the older question's wait, the older answer then
    // takes its place in time.
    await arrive(message('in', T0)); // live "hi"
    await arrive(message('in', at(-5 * DAY))); // an offline queue: a question 5 days old…
    const old = message('out', at(-4 * DAY)); // …answered from the phone a day later, stored
    stored.push(old);
    const live = await accepted(at(500));
    await moved(live, 'sent');
    await recorder.onMessagesCreated({
      sessionId: old.sessionId,
      messages: [old],
      notes: [{ id: `note-${old._id}`, messageIds: [old._id] }],
    });
    expect(await recordedWithHistogram()).toEqual([
      [old._id, DAY],
      [live._id, 500],
    ]);
    expect(await waitingSince()).toBeUndefined();
    await arrive(old); // a replay changes nothing
    expect(await recordedWithHistogram()).toEqual([
      [old._id, DAY],
      [live._id, 500],
    ]);
  });

  it('a live reply whose sample is stored after the older answer of its wait was handled answers only the live wait', async () => {
    // The narrowest interleaving: the live reply took the wait open since the old question, and
    // before its sample is stored the older answer is handled whole (finding no sample to move).
    await arrive(message('in', T0));
    await arrive(message('in', at(-5 * DAY)));
    const old = message('out', at(-4 * DAY));
    stored.push(old);
    const live = await accepted(at(500));
    const original = samples.create.bind(samples);
    const spy = vi.spyOn(samples, 'create').mockImplementationOnce((async (...args: never[]) => {
      await recorder.onMessagesCreated({
        sessionId: old.sessionId,
        messages: [old],
        notes: [{ id: `note-${old._id}`, messageIds: [old._id] }],
      });
      return original(...(args as unknown as Parameters<typeof original>));
    }) as never);
    await moved(live, 'sent');
    spy.mockRestore();
    expect(await recordedWithHistogram()).toEqual([
      [old._id, DAY],
      [live._id, 500],
    ]);
  });

  it('an old conversation arriving after the live one is answered by its own reply', async () => {
    await arrive(message('in', T0));
    const live = await arrive(message('out', at(500)));
    await arrive(message('in', at(-5 * DAY))); // the question, late: no reply of ours came between…
    expect(await recordedWithHistogram()).toEqual([[live._id, 5 * DAY + 500]]);
    const old = await arrive(message('out', at(-4 * DAY))); // …until its own answer arrives
    expect(await recordedWithHistogram()).toEqual([
      [old._id, DAY],
      [live._id, 500],
    ]);
  });

  it('a late inbound message with no reply between it and an answered wait starts that wait', async () => {
    await arrive(message('in', T0));
    const reply = await arrive(message('out', at(500)));
    await arrive(message('in', at(-1000)));
    expect(await recordedWithHistogram()).toEqual([[reply._id, 1500]]);
    await arrive(message('in', at(-500))); // later than the wait's start: changes nothing
    expect(await recordedWithHistogram()).toEqual([[reply._id, 1500]]);
  });

  it('a late reply that answers the question first leaves the later reply answering nothing', async () => {
    await arrive(message('in', T0));
    const later = await arrive(message('out', at(5000)));
    expect(await recordedWithHistogram()).toEqual([[later._id, 5000]]);
    const first = await arrive(message('out', at(1000))); // typed on the phone, ingested late
    expect(await recordedWithHistogram()).toEqual([[first._id, 1000]]);
    await arrive(message('out', at(3000))); // a third one between them answers nothing
    expect(await recordedWithHistogram()).toEqual([[first._id, 1000]]);
  });

  it('late inbound messages of one batch that fall in different waits are each answered by their own reply', async () => {
    const first = await arrive(message('out', at(1000)));
    const second = await arrive(message('out', at(5000)));
    // An offline queue delivers both questions in one batch, after both answers were counted.
    const [q1, q2] = [message('in', T0), message('in', at(3000))];
    stored.push(q1, q2);
    await recorder.onMessagesCreated({
      sessionId: q1.sessionId,
      messages: [q1, q2],
      notes: [{ id: `note-${q1._id}`, messageIds: [q1._id, q2._id] }],
    });
    expect(await recordedWithHistogram()).toEqual([
      [first._id, 1000],
      [second._id, 2000],
    ]);
  });

  it('of two replies of the same millisecond, one answers: a late question does not give the other a sample', async () => {
    await arrive(message('in', T0));
    const other = message('out', at(5000)); // the lower id: read first among replies of its time
    const answer = await arrive(message('out', at(5000)));
    await arrive(other); // the wait is answered: nothing for it
    expect(await recorded()).toEqual([[answer._id, 5000]]);
    await arrive(message('in', at(2000))); // late, in the same wait
    expect(await recordedWithHistogram()).toEqual([[answer._id, 5000]]);
  });

  it('of two replies of the same millisecond ingested late, only one takes the place in time', async () => {
    await arrive(message('in', T0));
    const later = await arrive(message('out', at(9000)));
    expect(await recorded()).toEqual([[later._id, 9000]]);
    // Two messages typed on the phone in the same instant (an album), ingested after the later reply.
    const album = await arrive(message('out', at(3000)));
    await arrive(message('out', at(3000)));
    expect(await recordedWithHistogram()).toEqual([[album._id, 3000]]);
  });

  describe("a crash after the reply's state moved, before it answered the wait", () => {
    /**
     * The status handler stops at its first write to the waits (the store failed there, or the
     * process was killed: the handler's error is logged, its counts are in).
     */
    async function cutOff(reply: MessageRecord) {
      const spy = vi.spyOn(waits, 'findOneAndUpdate').mockImplementationOnce((() => ({
        exec: () => Promise.reject(new Error('killed')),
      })) as never);
      await moved(reply, 'sent');
      expect(spy).toHaveBeenCalled();
      spy.mockRestore();
      expect((await states.findById(reply._id).lean().exec())?.status).toBe('sent');
      expect(await recorded()).toEqual([]);
    }

    it('the replay of the status change answers it', async () => {
      await arrive(message('in', T0));
      const reply = await accepted(at(5000));
      await cutOff(reply);
      await moved(reply, 'sent', { replayed: true }); // MessageEffectsRecovery replays the change
      expect(await recordedWithHistogram()).toEqual([[reply._id, 5000]]);
      await moved(reply, 'sent', { replayed: true }); // a second replay changes nothing
      await moved(reply, 'read');
      expect(await recordedWithHistogram()).toEqual([[reply._id, 5000]]);
    });

    it('a later status of the reply, handled before the replay, answers it', async () => {
      await arrive(message('in', T0));
      const reply = await accepted(at(5000));
      await cutOff(reply);
      await moved(reply, 'delivered');
      expect(await recordedWithHistogram()).toEqual([[reply._id, 5000]]);
      await moved(reply, 'delivered', { replayed: true }); // the replay of the latest change
      expect(await recordedWithHistogram()).toEqual([[reply._id, 5000]]);
    });
  });

  it('a reply older than the wait answers nothing', async () => {
    await arrive(message('in', T0));
    await arrive(message('out', at(-DAY)));
    expect(await recorded()).toEqual([]);
    expect(await waitingSince()).toBe(T0.toISOString());
  });

  it('a reply that went out after a later inbound message answers only what came before it', async () => {
    await arrive(message('in', T0));
    const reply = await accepted(at(1000)); // pending while the customer writes again
    const again = await arrive(message('in', at(2000)));
    await moved(reply, 'sent');
    expect(await recorded()).toEqual([[reply._id, 1000]]);
    expect(await waitingSince()).toBe(again.timestamp.toISOString());
    const next = await arrive(message('out', at(5000)));
    expect(await recorded()).toEqual([
      [reply._id, 1000],
      [next._id, 3000],
    ]);
  });

  it('history sync neither opens nor answers waits', async () => {
    await arrive(message('in', T0));
    await arrive(message('in', at(-5 * DAY), { history: true }));
    await arrive(message('out', at(-4 * DAY), { history: true }));
    expect(await waitingSince()).toBe(T0.toISOString());
    const live = await arrive(message('out', at(500)));
    expect(await recorded()).toEqual([[live._id, 500]]);

    // Only an old synced question: the next live reply answers nothing.
    await arrive(message('in', at(-5 * DAY), { history: true, chatJid: 'x@s.whatsapp.net' }));
    await arrive(message('out', at(1000), { chatJid: 'x@s.whatsapp.net' }));
    expect(await recorded()).toEqual([[live._id, 500]]);
  });

  it('a reply to the phone a LID sender was revealed to have answers the wait of the LID chat', async () => {
    const lidChat = '55501234567890@lid';
    await arrive(message('in', T0, { chatJid: lidChat }));
    mappings.set(lidChat, '201333333333');
    const reply = await arrive(
      message('out', at(4000), { chatJid: '201333333333@s.whatsapp.net' }),
    );
    expect(await recorded()).toEqual([[reply._id, 4000]]);
    // And the other way round: a reply to the LID answers a wait of the phone chat.
    await arrive(message('in', at(10_000), { chatJid: '201333333333@s.whatsapp.net' }));
    const back = await arrive(message('out', at(12_000), { chatJid: lidChat }));
    expect(await recorded()).toEqual([
      [reply._id, 4000],
      [back._id, 2000],
    ]);
  });

  it('without a mapping, a reply to another address answers nothing', async () => {
    await arrive(message('in', T0, { chatJid: '55501234567891@lid' }));
    await arrive(message('out', at(4000), { chatJid: '201333333334@s.whatsapp.net' }));
    expect(await recorded()).toEqual([]);
  });
});
