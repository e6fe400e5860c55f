import { duplicateIndexesOf, groupBy, isDuplicateKeyError } from '@app/common';
import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { AnyBulkWriteOperation, Model } from 'mongoose';
import { statusesBelow, type MessageStatus } from '../messaging/message.types';
import { bucketId, bucketsOf, type BucketCounters, type CounterIncrement } from './stats-counters';
import type { StatsGranularity } from './stats-range';
import type { ChatRef } from './stats.ports';
import {
  failureId,
  markedBucketUpserts,
  markedFailureUpserts,
  type MarkedIncrement,
  type MarkedUpsert,
} from './counter-marks';
import { StatsBucket } from './schemas/stats-bucket.schema';
import { StatsChatWait } from './schemas/stats-chat-wait.schema';
import { StatsCountedNote } from './schemas/stats-counted-note.schema';
import { StatsFailureReason } from './schemas/stats-failure-reason.schema';
import { StatsMessageState } from './schemas/stats-message-state.schema';
import { StatsResponseSample } from './schemas/stats-response-sample.schema';

export type MessageStateRecord = StatsMessageState;
export type PendingChange = NonNullable<StatsMessageState['pending']>[string];
export type BucketRow = BucketCounters & { bucket: Date };
export type ResponseSampleRecord = StatsResponseSample;

/** `count` failures with `reason` in one (granularity, session, bucket) row. */
export interface FailureIncrement {
  granularity: StatsGranularity;
  organizationId: string;
  sessionName: string;
  start: Date;
  day: string;
  reason: string;
  count: number;
}

/** Window filter shared by the read queries: `days` pins the index key, `since/until` trims partial days. */
export interface StatsWindow {
  organizationId: string;
  sessionName?: string;
  days: string[];
  since: Date;
  until: Date;
}

@Injectable()
export class StatsRepository {
  constructor(
    @InjectModel(StatsBucket.name) private readonly buckets: Model<StatsBucket>,
    @InjectModel(StatsMessageState.name) private readonly states: Model<StatsMessageState>,
    @InjectModel(StatsFailureReason.name) private readonly failures: Model<StatsFailureReason>,
    @InjectModel(StatsChatWait.name) private readonly waits: Model<StatsChatWait>,
    @InjectModel(StatsResponseSample.name) private readonly samples: Model<StatsResponseSample>,
    @InjectModel(StatsCountedNote.name) private readonly countedNotes: Model<StatsCountedNote>,
  ) {}

  // ---- writes (event side) ------------------------------------------------------------------

  /**
   * Records messages as counted, with their pending change, in one round trip; returns the ids
   * that were not counted before.
   */
  insertMessageStates(states: MessageStateRecord[]): Promise<Set<string>> {
    return insertNew(this.states, states);
  }

  /** Claims write-ahead notes as counted, with their pending change; returns the ids not claimed before. */
  claimNotes(claims: Array<Omit<StatsCountedNote, 'createdAt'>>): Promise<Set<string>> {
    const createdAt = new Date();
    return insertNew(
      this.countedNotes,
      claims.map((c) => ({ ...c, createdAt })),
    );
  }

  /** The states among `ids` with a change a crash left pending. */
  pendingStates(ids: string[]): Promise<MessageStateRecord[]> {
    if (!ids.length) return Promise.resolve([]);
    return this.states
      .find({ _id: { $in: ids }, pending: { $exists: true, $ne: {} } })
      .lean<MessageStateRecord[]>()
      .exec();
  }

  /** The note claims among `ids` whose counts a crash left pending. */
  pendingNoteClaims(ids: string[]): Promise<StatsCountedNote[]> {
    if (!ids.length) return Promise.resolve([]);
    return this.countedNotes
      .find({ _id: { $in: ids }, pending: { $exists: true } })
      .lean<StatsCountedNote[]>()
      .exec();
  }

  /**
   * Moves a message's counted status to `next` if that is a forward move, noting the change as
   * pending (with its failure reason) and `next` in its path, in the same update; returns the state
   * as it was before (so the caller knows what to decrement), or null when nothing moved.
   */
  advanceMessageStatus(
    organizationId: string,
    messageId: string,
    next: MessageStatus,
    pending: PendingChange = {},
  ): Promise<MessageStateRecord | null> {
    return this.states
      .findOneAndUpdate(
        { _id: messageId, organizationId, status: { $in: statusesBelow(next) } },
        { $set: { status: next, [`pending.${next}`]: pending }, $push: { path: next } },
        { returnDocument: 'before' },
      )
      .lean<MessageStateRecord>()
      .exec();
  }

  /** The reply of this state answered its chat's wait (see StatsMessageState.answered). */
  async markAnswered(messageId: string): Promise<void> {
    await this.states.updateOne({ _id: messageId }, { $set: { answered: true } }).exec();
  }

  /** A state's path and whether its reply answered, for a replayed status change that moved nothing. */
  answerOf(messageId: string): Promise<Pick<MessageStateRecord, 'path' | 'answered'> | null> {
    return this.states
      .findOne({ _id: messageId }, { path: 1, answered: 1 })
      .lean<Pick<MessageStateRecord, 'path' | 'answered'>>()
      .exec();
  }

  /** Applies marked changes to the buckets and failure reasons: each marker's change at most once. */
  async applyMarked(items: MarkedIncrement[]): Promise<void> {
    await upsertMarked(this.buckets, markedBucketUpserts(items));
    await upsertMarked(this.failures, markedFailureUpserts(items));
  }

  /** After the claims are cleared: the markers have done their job. */
  async releaseMarkers(items: MarkedIncrement[]): Promise<void> {
    await pullMarkers(this.buckets, markedBucketUpserts(items));
    await pullMarkers(this.failures, markedFailureUpserts(items));
  }

  /** The changes `changes` (state id → change keys) are in the counters now. */
  async clearPendingStates(changes: Array<{ id: string; key: string }>): Promise<void> {
    const byKey = groupBy(changes, (c) => c.key);
    for (const [key, list] of byKey)
      await this.states
        .updateMany({ _id: { $in: list.map((c) => c.id) } }, { $unset: { [`pending.${key}`]: 1 } })
        .exec();
  }

  /** The states' paths (statuses in the order they were counted), by id. */
  async statePaths(ids: string[]): Promise<Map<string, MessageStatus[] | undefined>> {
    const rows = await this.states
      .find({ _id: { $in: [...new Set(ids)] } }, { path: 1 })
      .lean<Array<Pick<MessageStateRecord, '_id' | 'path'>>>()
      .exec();
    return new Map(rows.map((r) => [r._id, r.path]));
  }

  async clearPendingNoteClaims(ids: string[]): Promise<void> {
    if (ids.length)
      await this.countedNotes.updateMany({ _id: { $in: ids } }, { $unset: { pending: 1 } }).exec();
  }

  /** Applies one `$inc` to the hour and the day bucket of `at` (upserting them), in one round trip. */
  async incrementBuckets(
    organizationId: string,
    sessionName: string,
    at: Date,
    inc: CounterIncrement,
  ): Promise<void> {
    if (Object.keys(inc).length === 0) return;
    await this.buckets.bulkWrite(
      StatsRepository.bucketIncrementOps(organizationId, sessionName, at, inc),
      { ordered: false },
    );
  }

  /** The upserts `incrementBuckets` sends: one per bucket (hour and day) of `at`. */
  static bucketIncrementOps(
    organizationId: string,
    sessionName: string,
    at: Date,
    inc: CounterIncrement,
  ): AnyBulkWriteOperation<StatsBucket>[] {
    return bucketsOf(at).map(({ granularity, start, day }) =>
      StatsRepository.bucketUpsert(granularity, organizationId, sessionName, start, day, inc),
    );
  }

  /** `$inc` upsert of one bucket document (the only shape counters are ever written in). */
  static bucketUpsert(
    granularity: StatsGranularity,
    organizationId: string,
    sessionName: string,
    start: Date,
    day: string,
    inc: CounterIncrement,
  ): AnyBulkWriteOperation<StatsBucket> {
    return {
      updateOne: {
        filter: { _id: bucketId(granularity, organizationId, sessionName, start) },
        update: {
          $setOnInsert: { organizationId, sessionName, granularity, bucket: start, day },
          $inc: inc,
        },
        upsert: true,
      },
    };
  }

  /** Writes pre-built bucket upserts in one round trip (bulk back-fill, benchmark seeding). */
  async bulkIncrementBuckets(ops: AnyBulkWriteOperation<StatsBucket>[]): Promise<void> {
    if (ops.length) await this.buckets.bulkWrite(ops, { ordered: false });
  }

  /** `$inc` upserts of failure counts per (granularity, session, bucket, reason), in one round trip. */
  async bulkIncrementFailures(rows: FailureIncrement[]): Promise<void> {
    if (rows.length === 0) return;
    // One upsert per failure document, however many rows count into it.
    const folded = new Map<string, (typeof rows)[number]>();
    for (const row of rows) {
      const id = failureId(
        row.granularity,
        row.organizationId,
        row.sessionName,
        row.start,
        row.reason,
      );
      const seen = folded.get(id);
      folded.set(id, seen ? { ...seen, count: seen.count + row.count } : row);
    }
    await this.failures.bulkWrite(
      [...folded].map(
        ([_id, { granularity, organizationId, sessionName, start, day, reason, count }]) => ({
          updateOne: {
            filter: { _id },
            update: {
              $setOnInsert: {
                organizationId,
                sessionName,
                granularity,
                bucket: start,
                day,
                reason,
              },
              $inc: { count },
            },
            upsert: true,
          },
        }),
      ),
      { ordered: false },
    );
  }

  /**
   * An inbound message at `at` starts (or moves earlier) the chat's wait for a reply, unless we
   * already replied at or after `at`, and raises the chat's `lastInAt`. Conditional writes, no
   * read-modify-write race: one when it starts the wait, two when the chat already waits since
   * earlier. True when we had replied: the message arrived late, after a reply that may answer it
   * (see StatsRecorder).
   */
  async markAwaiting(
    organizationId: string,
    sessionName: string,
    chatJid: string,
    at: Date,
  ): Promise<boolean> {
    const _id = `${organizationId}|${sessionName}|${chatJid}`;
    for (let attempt = 0; attempt < 3; attempt++) {
      const moved = await this.waits
        .updateOne(awaitingFilter(_id, organizationId, at), {
          $set: { awaitingSince: at },
          $max: { lastInAt: at },
        })
        .exec();
      if (moved.matchedCount > 0) return false;
      let before: StatsChatWait | null;
      try {
        before = await this.waits
          .findOneAndUpdate(
            { _id, organizationId },
            { $max: { lastInAt: at }, $setOnInsert: { sessionName, chatJid, awaitingSince: at } },
            { upsert: true, returnDocument: 'before' },
          )
          .lean<StatsChatWait>()
          .exec();
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
        continue; // created concurrently: decide again
      }
      if (!before) return false; // created, waiting since `at`
      if (before.lastOutAt && before.lastOutAt >= at) return true;
      if (before.awaitingSince && before.awaitingSince <= at) return false;
      // A reply closed the wait in between: decide again.
    }
    return false;
  }

  /**
   * `markAwaiting` for many chats, each with the times of its inbound messages, in three round
   * trips: read the chats' state, move each wait to its earliest inbound time after our last
   * reply (the same conditional write) and raise `lastInAt`, create the chats not seen before. A
   * chat created concurrently in between falls back to `markAwaiting` per message. Returns the
   * inbound messages that arrived after a reply that may answer them (one per distinct time, in
   * time order: replies may lie between them, so each may fall in another wait).
   */
  async markAwaitingMany(
    chats: Array<{ organizationId: string; sessionName: string; chatJid: string; times: Date[] }>,
  ): Promise<LateInbound[]> {
    const late: LateInbound[] = [];
    if (!chats.length) return late;
    const idOf = (c: (typeof chats)[number]) => `${c.organizationId}|${c.sessionName}|${c.chatJid}`;
    const known = new Map(
      (
        await this.waits
          .find({ _id: { $in: chats.map(idOf) } })
          .lean<StatsChatWait[]>()
          .exec()
      ).map((w) => [w._id, w]),
    );
    const updates: AnyBulkWriteOperation<StatsChatWait>[] = [];
    const moves: AnyBulkWriteOperation<StatsChatWait>[] = [];
    const moved: Array<(typeof chats)[number] & { candidates: Date[] }> = [];
    const created: Array<StatsChatWait & { times: Date[] }> = [];
    for (const chat of chats) {
      const _id = idOf(chat);
      const wait = known.get(_id);
      const after = wait?.lastOutAt;
      const candidates = chat.times.filter((t) => !after || t > after);
      // Each one: late messages of one batch may fall in different waits (replies between them).
      for (const at of distinctTimes(chat.times.filter((t) => after && t <= after)))
        late.push({ ...chatOf(chat), at });
      const latestIn = latest(chat.times);
      if (wait && !(wait.lastInAt && wait.lastInAt >= latestIn))
        updates.push({
          updateOne: {
            filter: { _id, organizationId: chat.organizationId },
            update: { $max: { lastInAt: latestIn } },
          },
        });
      if (!candidates.length) continue;
      const at = earliest(candidates);
      if (!wait) {
        const { organizationId, sessionName, chatJid, times } = chat;
        created.push({
          _id,
          organizationId,
          sessionName,
          chatJid,
          awaitingSince: at,
          lastInAt: latestIn,
          times,
        });
      } else if (!wait.awaitingSince || wait.awaitingSince > at) {
        moves.push({
          updateOne: {
            filter: awaitingFilter(_id, chat.organizationId, at),
            update: { $set: { awaitingSince: at } },
          },
        });
        moved.push({ ...chat, candidates });
      }
    }
    if (updates.length) await this.waits.bulkWrite(updates, { ordered: false });
    if (moves.length) {
      const result = await this.waits.bulkWrite(moves, { ordered: false });
      // A reply (or an earlier inbound message) changed a chat since it was read: those chats are
      // decided again message by message, which repeats what did apply harmlessly.
      if (result.matchedCount < moves.length)
        for (const chat of moved)
          for (const at of distinctTimes(chat.candidates))
            if (await this.markAwaiting(chat.organizationId, chat.sessionName, chat.chatJid, at))
              late.push({ ...chatOf(chat), at });
    }
    if (!created.length) return late;
    try {
      await this.waits.insertMany(
        created.map(({ times: _times, ...wait }) => wait),
        { ordered: false, lean: true },
      );
    } catch (error) {
      const raced = duplicateIndexesOf(error);
      if (!raced) throw error;
      for (const i of raced)
        for (const at of created[i].times)
          if (
            await this.markAwaiting(
              created[i].organizationId,
              created[i].sessionName,
              created[i].chatJid,
              at,
            )
          )
            late.push({ ...chatOf(created[i]), at });
    }
    return late;
  }

  /**
   * An outgoing message at `at` (one that went out) answers the chat's wait, if one started at or
   * before `at`, and raises `lastOutAt`. Returns when the wait started and whether an inbound
   * message later than `at` was seen (it still waits: the caller reopens the wait at it), or, when
   * nothing was waiting, whether a later reply of ours was counted already (this one came out of
   * order). `answerOnly`: change nothing unless it answers (the chat at another address of the
   * same person, see StatsRecorder).
   */
  async resolveAwaiting(
    organizationId: string,
    sessionName: string,
    chatJid: string,
    at: Date,
    answerOnly = false,
  ): Promise<Resolution> {
    const _id = `${organizationId}|${sessionName}|${chatJid}`;
    for (let attempt = 0; attempt < 3; attempt++) {
      const before = await this.waits
        .findOneAndUpdate(
          { _id, organizationId, awaitingSince: { $lte: at } },
          { $unset: { awaitingSince: 1 }, $max: { lastOutAt: at } },
          { returnDocument: 'before' },
        )
        .lean<StatsChatWait>()
        .exec();
      if (before?.awaitingSince)
        return {
          since: before.awaitingSince,
          laterInbound: !!before.lastInAt && before.lastInAt > at,
        };
      if (answerOnly) return { laterReply: false };
      let after: StatsChatWait | null;
      try {
        after = await this.waits
          .findOneAndUpdate(
            { _id, organizationId },
            { $max: { lastOutAt: at }, $setOnInsert: { sessionName, chatJid } },
            { upsert: true, returnDocument: 'after' },
          )
          .lean<StatsChatWait>()
          .exec();
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
        continue; // created concurrently: decide again
      }
      // An inbound message that opened a wait between the two writes (it did not see this reply
      // yet) is answered by it; one that comes later sees `lastOutAt` and is answered as late.
      if (!after?.awaitingSince || after.awaitingSince > at)
        return { laterReply: !!after?.lastOutAt && after.lastOutAt > at };
    }
    return { laterReply: false };
  }

  /**
   * Stores a response time once per outgoing message and once per chat and reply time (`slot`);
   * false when one was (a redelivered event, or another reply of the same millisecond).
   */
  async insertResponseSample(sample: ResponseSampleRecord): Promise<boolean> {
    try {
      await this.samples.create(sample);
      return true;
    } catch (error) {
      if (isDuplicateKeyError(error)) return false;
      throw error;
    }
  }

  /** The reply's sample, else the one of another reply of its chat and time (`slot`). */
  async findResponseSample(replyId: string, slot: string): Promise<ResponseSampleRecord | null> {
    return (
      (await this.samples.findById(replyId).lean<ResponseSampleRecord>().exec()) ??
      this.samples.findOne({ slot }).lean<ResponseSampleRecord>().exec()
    );
  }

  /**
   * The chat's sample whose wait spans `at` (inbound at or before it, reply after it), if any:
   * samples of a chat never overlap, so it is the first one answered after `at`.
   */
  async sampleSpanning(chat: ChatRef, at: Date): Promise<ResponseSampleRecord | null> {
    const { organizationId, sessionName, chatJid } = chat;
    const sample = await this.samples
      .findOne({ organizationId, sessionName, chatJid, respondedAt: { $gt: at } })
      .sort({ respondedAt: 1 })
      .lean<ResponseSampleRecord>()
      .exec();
    return sample && sample.inboundAt <= at ? sample : null;
  }

  /**
   * Moves a sample to the inbound message its reply answers now (`to`), or deletes it when the
   * reply answers none, provided it still starts where it was read (two movers: one wins).
   */
  async moveResponseSample(
    sample: ResponseSampleRecord,
    to: Pick<ResponseSampleRecord, 'inboundAt' | 'day' | 'responseMs' | 'bin'> | null,
  ): Promise<boolean> {
    const filter = { _id: sample._id, inboundAt: sample.inboundAt };
    const result = to
      ? await this.samples.updateOne(filter, { $set: to }).exec()
      : await this.samples.deleteOne(filter).exec();
    return ('modifiedCount' in result ? result.modifiedCount : result.deletedCount) > 0;
  }

  /** Bulk insert of samples (benchmark seeding). */
  async insertResponseSamples(samples: ResponseSampleRecord[]): Promise<void> {
    if (samples.length) await this.samples.insertMany(samples, { ordered: false, lean: true });
  }

  // ---- reads (stats route) ------------------------------------------------------------------

  /** Bucket counters of the window (index: organizationId + granularity + day). */
  findBuckets(window: StatsWindow, granularity: StatsGranularity): Promise<BucketRow[]> {
    return this.buckets
      .find(
        {
          organizationId: window.organizationId,
          granularity,
          day: { $in: window.days },
          ...(window.sessionName ? { sessionName: window.sessionName } : {}),
          bucket: { $gte: window.since, $lt: window.until },
        },
        { _id: 0, bucket: 1, sent: 1, received: 1, byStatus: 1, byType: 1, rt: 1 },
      )
      .lean<BucketRow[]>()
      .exec();
  }

  /**
   * Failure counts of the window, summed per reason in the database (index: organizationId +
   * granularity + day): a handful of rows travel instead of one per session, bucket and reason.
   */
  async findFailureReasons(
    window: StatsWindow,
    granularity: StatsGranularity,
  ): Promise<Array<{ reason: string; count: number }>> {
    const rows = await this.failures
      .aggregate<{ _id: string; count: number }>([
        {
          $match: {
            organizationId: window.organizationId,
            granularity,
            day: { $in: window.days },
            ...(window.sessionName ? { sessionName: window.sessionName } : {}),
            bucket: { $gte: window.since, $lt: window.until },
          },
        },
        { $group: { _id: '$reason', count: { $sum: '$count' } } },
      ])
      .exec();
    return rows.map((row) => ({ reason: row._id, count: row.count }));
  }

  private sampleFilter(window: StatsWindow, bin?: number) {
    return {
      organizationId: window.organizationId,
      day: { $in: window.days },
      ...(bin === undefined ? {} : { bin }),
      ...(window.sessionName ? { sessionName: window.sessionName } : {}),
      inboundAt: { $gte: window.since, $lt: window.until },
    };
  }

  /**
   * Response times of one histogram bin, ascending, after skipping `skip` of them
   * (index: organizationId + day + bin [+ responseMs]).
   */
  responseTimesInBin(
    window: StatsWindow,
    bin: number,
    skip: number,
    take: number,
  ): Promise<number[]> {
    return this.responseTimes(this.sampleFilter(window, bin), skip, take);
  }

  countResponseSamples(window: StatsWindow): Promise<number> {
    return this.samples.countDocuments(this.sampleFilter(window)).exec();
  }

  /** `take` response times of the whole window, ascending, after `skip` (fallback when the histogram disagrees). */
  responseTimesAt(window: StatsWindow, skip: number, take: number): Promise<number[]> {
    return this.responseTimes(this.sampleFilter(window), skip, take);
  }

  private async responseTimes(
    filter: ReturnType<StatsRepository['sampleFilter']>,
    skip: number,
    take: number,
  ): Promise<number[]> {
    const rows = await this.samples
      .find(filter, { _id: 0, responseMs: 1 })
      .sort({ responseMs: 1 })
      .skip(skip)
      .limit(take)
      .lean<Array<{ responseMs: number }>>()
      .exec();
    return rows.map((row) => row.responseMs);
  }

  /** True when any counter was ever kept for the session (it may have been deleted since). */
  async hasSessionData(organizationId: string, sessionName: string): Promise<boolean> {
    return (await this.buckets.exists({ organizationId, sessionName }).exec()) !== null;
  }
}

/** An inbound message stored after a reply at or after its time: that reply may answer it. */
export type LateInbound = ChatRef & { at: Date };

/** A wait a reply answered: since when, and whether an inbound message after the reply was seen. */
export interface Answered {
  since: Date;
  laterInbound: boolean;
}

/** What a reply did to its chat's wait: answered it, or nothing (and whether a later reply was seen). */
export type Resolution = Answered | { since?: undefined; laterReply: boolean };

const chatOf = (c: ChatRef): ChatRef => ({
  organizationId: c.organizationId,
  sessionName: c.sessionName,
  chatJid: c.chatJid,
});

const distinctTimes = (times: Date[]) =>
  [...new Set(times.map((t) => t.getTime()))].sort((a, b) => a - b).map((t) => new Date(t));
const earliest = (times: Date[]) => new Date(Math.min(...times.map((t) => t.getTime())));
const latest = (times: Date[]) => new Date(Math.max(...times.map((t) => t.getTime())));

/** A chat whose wait an inbound message at `at` starts or moves earlier: none earlier, no reply at or after `at`. */
function awaitingFilter(_id: string, organizationId: string, at: Date) {
  return {
    _id,
    organizationId,
    $and: [
      { $or: [{ awaitingSince: { $exists: false } }, { awaitingSince: { $gt: at } }] },
      { $or: [{ lastOutAt: { $exists: false } }, { lastOutAt: { $lt: at } }] },
    ],
  };
}

/** Inserts rows keyed by a unique `_id` in one unordered round trip; returns the ids that were new. */
async function insertNew<T extends { _id: string }>(
  model: Model<T>,
  rows: T[],
): Promise<Set<string>> {
  if (!rows.length) return new Set();
  const ids = rows.map((r) => r._id);
  try {
    await model.insertMany(rows, { ordered: false, lean: true });
    return new Set(ids);
  } catch (error) {
    const duplicates = duplicateIndexesOf(error);
    if (!duplicates) throw error;
    return new Set(ids.filter((_, i) => !duplicates.has(i)));
  }
}

/**
 * Upserts each document's folded change unless one of its markers is there already, recording the
 * markers in the same update. A document that has some of them (a replay grouping changes that
 * were applied apart) takes its changes one marker at a time.
 */
async function upsertMarked<T>(model: Model<T>, docs: MarkedUpsert[]): Promise<void> {
  const op = (_id: string, setOnInsert: object, inc: object, markers: string[]) => ({
    updateOne: {
      filter: { _id, applied: { $nin: markers } },
      update: { $setOnInsert: setOnInsert, $inc: inc, $push: { applied: { $each: markers } } },
      upsert: true,
    },
  });
  const bulk = async (ops: ReturnType<typeof op>[]): Promise<Set<number>> => {
    if (!ops.length) return new Set();
    try {
      // The filter's `$nin` fails on a document that has a marker: the upsert then collides.
      await model.bulkWrite(ops as never[], { ordered: false });
      return new Set();
    } catch (error) {
      const duplicates = duplicateIndexesOf(error);
      if (!duplicates) throw error;
      return duplicates;
    }
  };
  const collided = await bulk(docs.map((d) => op(d._id, d.setOnInsert, d.inc, d.markers)));
  const parts = [...collided]
    .filter((i) => docs[i].parts.length > 1)
    .flatMap((i) =>
      docs[i].parts.map((p) => op(docs[i]._id, docs[i].setOnInsert, p.inc, [p.marker])),
    );
  await bulk(parts);
}

async function pullMarkers<T>(model: Model<T>, docs: MarkedUpsert[]): Promise<void> {
  if (!docs.length) return;
  await model.bulkWrite(
    docs.map((d) => ({
      updateOne: { filter: { _id: d._id }, update: { $pull: { applied: { $in: d.markers } } } },
    })) as never[],
    { ordered: false },
  );
}
