import { duplicateIndexesOf, isDuplicateKeyError } from '@app/common';
import { Injectable, Logger } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { type Model, type QueryFilter, Types } from 'mongoose';
import {
  afterPosition,
  CHAT_MESSAGE,
  type ChatPosition,
  WENT_OUT_STATUSES,
  type MessageRecord,
  type MessageStatus,
  STATUS_TIME_FIELD,
  impliedTimeFields,
  STILL_UNREAD,
  statusesBelow,
} from './message.types';
import { Message } from './schemas/message.schema';

export type NewMessage = Omit<MessageRecord, '_id' | 'createdAt' | 'updatedAt'> & {
  _id?: string;
  /** Engine handle for downloading inbound media later. */
  mediaRef?: Record<string, unknown>;
};
export type MessageFilter = QueryFilter<Message>;

/** Message ids are ObjectId hex strings: time-ordered, and the same type in every module. */
export const newMessageId = (): string => new Types.ObjectId().toHexString();

/** A chat as the messages name it. */
export interface ChatScope {
  organizationId: string;
  sessionName: string;
  chatJid: string;
}

/**
 * Still-unread received messages of a chat as its unread count holds them: after its latest
 * outgoing message (`cleared`) and counted into the chat already (ids up to `countedThrough`; none
 * given, as chats written before it was kept: all).
 */
function unreadInCount(cleared?: ChatPosition, countedThrough?: string) {
  const and = [
    ...(countedThrough ? [{ _id: { $lte: countedThrough } }] : []),
    ...(cleared ? [afterPosition(cleared)] : []),
  ];
  return and.length ? { ...STILL_UNREAD, $and: and } : STILL_UNREAD;
}

@Injectable()
export class MessagesRepository {
  private readonly log = new Logger(MessagesRepository.name);

  constructor(@InjectModel(Message.name) private readonly model: Model<Message>) {}

  async insert(message: NewMessage): Promise<MessageRecord> {
    const created = await this.model.create(message);
    return created.toObject() as unknown as MessageRecord;
  }

  /**
   * Inserts messages that carry their own `_id`s (accepted sends), in one round trip when all are
   * valid. Otherwise one by one, so each message gets its own outcome: its record, or the error
   * that refused it. A message the first attempt stored is recognised by its id.
   */
  async insertAll(
    messages: Array<NewMessage & { _id: string }>,
  ): Promise<Array<MessageRecord | Error>> {
    try {
      const created = await this.model.insertMany(messages, { ordered: true });
      return created.map((doc) => doc.toObject() as unknown as MessageRecord);
    } catch (err) {
      this.log.warn(
        { err, count: messages.length },
        'Batch insert of accepted messages failed; storing them one by one',
      );
      return Promise.all(messages.map((message) => this.insertOwn(message)));
    }
  }

  private async insertOwn(message: NewMessage & { _id: string }): Promise<MessageRecord | Error> {
    try {
      return await this.insert(message);
    } catch (error) {
      const stored = isDuplicateKeyError(error) ? await this.findById(message._id) : null;
      return stored ?? (error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** Inserts unless (sessionId, waMessageId) exists. Returns the stored record and whether it is new. */
  async insertOnce(message: NewMessage): Promise<{ record: MessageRecord; created: boolean }> {
    try {
      return { record: await this.insert(message), created: true };
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      const existing = await this.findByWaId(message.sessionId, message.waMessageId!);
      if (!existing) throw error;
      return { record: existing, created: false };
    }
  }

  /**
   * Inserts a batch in one round trip, skipping messages already stored (unique sessionId +
   * waMessageId, also within the batch). Returns the new records, in input order. The documents
   * get the schema's defaults here and skip Mongoose hydration (`lean`): callers build them from
   * typed engine events. Any error other than a duplicate is thrown; nothing is half-reported.
   */
  async insertManyOnce(messages: Array<NewMessage & { _id: string }>): Promise<MessageRecord[]> {
    if (!messages.length) return [];
    const now = new Date();
    const docs = messages.map((m) => ({
      ...m,
      createdAt: now,
      updatedAt: now,
    })) as unknown as MessageRecord[];
    try {
      // Absent optional fields stay absent (not null): the serializer skips undefined values.
      await this.model.collection.insertMany(docs as never[], {
        ordered: false,
        ignoreUndefined: true,
      });
      return docs;
    } catch (error) {
      const duplicates = duplicateIndexesOf(error);
      if (!duplicates) throw error;
      return docs.filter((_, i) => !duplicates.has(i));
    }
  }

  findById(id: string): Promise<MessageRecord | null> {
    return this.model.findById(id).lean<MessageRecord>().exec();
  }

  /** The messages with these ids, in the given order (missing ones left out). */
  async findByIds(ids: string[]): Promise<MessageRecord[]> {
    const rows = await this.model
      .find({ _id: { $in: ids } })
      .lean<MessageRecord[]>()
      .exec();
    const byId = new Map(rows.map((row) => [String(row._id), row]));
    return ids.flatMap((id) => byId.get(id) ?? []);
  }

  /**
   * Sets the edited text of the message `target` selects, unless a newer edit is applied already
   * (edits arrive in any order).
   */
  async applyEdit(target: MessageFilter, text: string, at: Date): Promise<void> {
    await this.model
      .updateOne(
        {
          $and: [target, { $or: [{ editedAt: { $exists: false } }, { editedAt: { $lte: at } }] }],
        },
        { $set: { editedText: text, editedAt: at } },
      )
      .exec();
  }

  findOne(filter: MessageFilter): Promise<MessageRecord | null> {
    return this.model.findOne(filter).lean<MessageRecord>().exec();
  }

  /** A session's stored edits and revokes of these messages (also ones that came before them). */
  findChangesOf(sessionId: string, waMessageIds: string[]): Promise<MessageRecord[]> {
    return this.model
      .find({ sessionId, targetId: { $in: waMessageIds }, type: { $in: ['edit', 'revoke'] } })
      .lean<MessageRecord[]>()
      .exec();
  }

  findOwned(organizationId: string, id: string): Promise<MessageRecord | null> {
    return this.model.findOne({ _id: id, organizationId }).lean<MessageRecord>().exec();
  }

  findByWaId(sessionId: string, waMessageId: string): Promise<MessageRecord | null> {
    return this.model.findOne({ sessionId, waMessageId }).lean<MessageRecord>().exec();
  }

  async page(
    filter: MessageFilter,
    skip: number,
    limit: number,
  ): Promise<{ items: MessageRecord[]; total: number }> {
    const [items, total] = await Promise.all([
      this.model
        .find(filter)
        .sort({ timestamp: -1, _id: -1 })
        .skip(skip)
        .limit(limit)
        .lean<MessageRecord[]>()
        .exec(),
      this.model.countDocuments(filter).exec(),
    ]);
    return { items, total };
  }

  /**
   * Moves the status forward only (receipts arrive late, twice, out of order).
   * Returns the record before and after, or null when the message is unknown or already further along.
   */
  async advanceStatus(
    filter: MessageFilter,
    status: MessageStatus,
    at: Date,
    extra: Partial<MessageRecord> = {},
  ): Promise<{ before: MessageRecord; after: MessageRecord } | null> {
    const now = new Date();
    // statusEffectsAt: the change's effects are still to run (cleared by clearStatusEffects).
    const set: Record<string, unknown> = { ...extra, status, updatedAt: now, statusEffectsAt: now };
    const timeField = STATUS_TIME_FIELD[status];
    if (timeField) set[timeField] = at;
    // A receipt that skips statuses (played before read, whose late receipt is then ignored)
    // implies them: their times are at most this one's, so $min fills only those never recorded.
    const implied = Object.fromEntries(impliedTimeFields(status).map((f) => [f, at]));
    // The error of an attempt that was retried is history once the message got further.
    // Leaving pending ends the outbox's claim too.
    const unset =
      status === 'failed'
        ? { nextAttemptAt: 1, claimedBy: 1 }
        : { nextAttemptAt: 1, claimedBy: 1, error: 1 };
    const before = await this.model
      .findOneAndUpdate(
        { ...filter, status: { $in: statusesBelow(status) } },
        { $set: set, $unset: unset, ...(Object.keys(implied).length ? { $min: implied } : {}) },
        { returnDocument: 'before', timestamps: false },
      )
      .lean<MessageRecord>()
      .exec();
    if (!before) return null;
    const after = { ...before, ...set } as MessageRecord;
    for (const [field, time] of Object.entries(implied)) {
      const recorded = before[field as keyof MessageRecord] as Date | undefined;
      Object.assign(after, { [field]: recorded && recorded < time ? recorded : time });
    }
    for (const field of Object.keys(unset)) delete after[field as keyof MessageRecord];
    return { before, after };
  }

  /** The effects of the status change noted at `notedAt` ran; a newer change keeps its own note. */
  async clearStatusEffects(id: string, notedAt: Date): Promise<void> {
    await this.model
      .updateOne({ _id: id, statusEffectsAt: notedAt }, { $unset: { statusEffectsAt: 1 } })
      .exec();
  }

  /**
   * A status change whose effects a crash cut off (noted before `staleBefore`), claimed by moving
   * its note to now: another instance's pass leaves it alone until it is stale again.
   */
  claimStaleStatusEffects(staleBefore: Date): Promise<MessageRecord | null> {
    return this.model
      .findOneAndUpdate(
        { statusEffectsAt: { $lt: staleBefore } },
        { $set: { statusEffectsAt: new Date() } },
        { returnDocument: 'after', timestamps: false },
      )
      .lean<MessageRecord>()
      .exec();
  }

  /** Records WhatsApp's id after a send; an echo of the same message stored from an engine event is folded in. */
  async markSent(id: string, sessionId: string, waMessageId: string, at: Date) {
    try {
      return await this.advanceStatus({ _id: id }, 'sent', at, {
        waMessageId,
      } as Partial<MessageRecord>);
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      await this.model
        .deleteOne({ sessionId, waMessageId, _id: { $ne: id }, direction: 'out' })
        .exec();
      return this.advanceStatus({ _id: id }, 'sent', at, { waMessageId } as Partial<MessageRecord>);
    }
  }

  /** Oldest due outbox messages of a session. */
  duePending(sessionId: string, now: Date, limit: number): Promise<MessageRecord[]> {
    return this.model
      .find({ sessionId, status: 'pending', nextAttemptAt: { $lte: now } })
      .sort({ createdAt: 1, _id: 1 })
      .limit(limit)
      .lean<MessageRecord[]>()
      .exec();
  }

  /** Chats with a message waiting for a retry: later messages of those chats must wait (per-chat order). */
  async chatsAwaitingRetry(sessionId: string, now: Date): Promise<Set<string>> {
    const chats = await this.model
      .distinct('chatJid', { sessionId, status: 'pending', nextAttemptAt: { $gt: now } })
      .exec();
    return new Set(chats as string[]);
  }

  /**
   * Ids of a chat's received messages we have not read yet, oldest first: those its count holds
   * already (up to `countedThrough`, see Chat). One stored but not counted yet stays unread, or
   * counting it next would count a read message.
   */
  async unreadIdsOf(
    chat: ChatScope & { countedThrough?: string },
    limit: number,
  ): Promise<string[]> {
    const { countedThrough, ...scope } = chat;
    const rows = await this.model
      .find({ ...scope, ...unreadInCount(undefined, countedThrough) }, { _id: 1 })
      .sort({ timestamp: 1, _id: 1 })
      .limit(limit)
      .lean<Array<{ _id: string }>>()
      .exec();
    return rows.map((r) => r._id);
  }

  /** Marks received messages read by us (only forward), each with its read receipt to send. */
  markReadByUs(ids: string[], at: Date): Promise<number> {
    return this.markStillUnread({ _id: { $in: ids } }, { readAt: at, readReceiptPending: true });
  }

  /** The chats of the session in which some of these received messages are still unread. */
  chatsWithUnread(sessionId: string, waMessageIds: string[]): Promise<string[]> {
    return this.model
      .distinct('chatJid', { sessionId, waMessageId: { $in: waMessageIds }, ...STILL_UNREAD })
      .exec() as Promise<string[]>;
  }

  /**
   * Marks received messages of a chat read on another device (their receipts went from there),
   * those its count holds already (see unreadIdsOf).
   */
  markReadElsewhere(
    chat: { sessionId: string; chatJid: string; countedThrough?: string },
    waMessageIds: string[],
    at: Date,
  ): Promise<number> {
    const { sessionId, chatJid, countedThrough } = chat;
    return this.markStillUnread(
      {
        sessionId,
        chatJid,
        waMessageId: { $in: waMessageIds },
        ...(countedThrough ? { _id: { $lte: countedThrough } } : {}),
      },
      { readAt: at },
    );
  }

  /** How many moved to read. */
  private async markStillUnread(
    scope: MessageFilter,
    set: Partial<MessageRecord>,
  ): Promise<number> {
    const update = { $set: { ...set, status: 'read' as const } };
    return (await this.model.updateMany({ ...scope, ...STILL_UNREAD }, update).exec())
      .modifiedCount;
  }

  /**
   * A chat's unread count as the messages have it: still unread received messages after
   * `cleared` (our latest outgoing message) that were counted into the chat (see unreadInCount).
   */
  countUnread(chat: ChatScope, cleared?: ChatPosition, countedThrough?: string): Promise<number> {
    const { organizationId, sessionName, chatJid } = chat;
    return this.model
      .countDocuments({
        organizationId,
        sessionName,
        chatJid,
        ...unreadInCount(cleared, countedThrough),
      })
      .exec();
  }

  /**
   * The chat's first outgoing chat message (not an edit, revoke or reaction) at or after `at` that
   * went out and came live: a pending or failed one answers nothing, nor does history sync.
   */
  firstOutgoingFrom(
    chat: ChatScope,
    at: Date,
  ): Promise<Pick<MessageRecord, '_id' | 'timestamp'> | null> {
    return this.firstLiveChatMessage(chat, {
      timestamp: { $gte: at },
      direction: 'out',
      status: { $in: [...WENT_OUT_STATUSES] },
    });
  }

  /** The chat's latest outgoing chat message before `at` that went out and came live. */
  lastOutgoingBefore(
    chat: ChatScope,
    at: Date,
  ): Promise<Pick<MessageRecord, '_id' | 'timestamp'> | null> {
    return this.firstLiveChatMessage(
      chat,
      { timestamp: { $lt: at }, direction: 'out', status: { $in: [...WENT_OUT_STATUSES] } },
      -1,
    );
  }

  /** The chat's first received chat message after `at` that came live (not by history sync). */
  firstIncomingAfter(
    chat: ChatScope,
    at: Date,
  ): Promise<Pick<MessageRecord, '_id' | 'timestamp'> | null> {
    return this.firstLiveChatMessage(chat, { timestamp: { $gt: at }, direction: 'in' });
  }

  /**
   * The oldest (`order` 1) or newest (-1) chat message of the chat matching `filter` that did not
   * come by history sync.
   */
  private firstLiveChatMessage(
    { organizationId, sessionName, chatJid }: ChatScope,
    filter: MessageFilter,
    order: 1 | -1 = 1,
  ): Promise<Pick<MessageRecord, '_id' | 'timestamp'> | null> {
    return this.model
      .findOne(
        {
          organizationId,
          sessionName,
          chatJid,
          ...filter,
          history: { $ne: true },
          ...CHAT_MESSAGE,
        },
        { _id: 1, timestamp: 1 },
      )
      .sort({ timestamp: order, _id: order })
      .lean<Pick<MessageRecord, '_id' | 'timestamp'>>()
      .exec();
  }

  /** Chat messages (not edits, revokes or reactions) of a session's chats at these addresses. */
  countChatMessages(
    scope: { organizationId: string; sessionName: string },
    chatJids: string[],
  ): Promise<number> {
    const { organizationId, sessionName } = scope;
    return this.model
      .countDocuments({ organizationId, sessionName, chatJid: { $in: chatJids }, ...CHAT_MESSAGE })
      .exec();
  }

  /** Whether the organization has messages of a session by this name (it may since be deleted). */
  async anyOfSession(organizationId: string, sessionName: string): Promise<boolean> {
    return !!(await this.model.exists({ organizationId, sessionName }).exec());
  }

  /** Sessions with read receipts to send. */
  async sessionsWithPendingReceipts(): Promise<string[]> {
    return (await this.model
      .distinct('sessionId', { readReceiptPending: true })
      .exec()) as string[];
  }

  /** A session's messages whose read receipt is still to send, oldest first. */
  pendingReceiptsOf(sessionId: string, limit: number): Promise<MessageRecord[]> {
    return this.model
      .find(
        { sessionId, readReceiptPending: true },
        { _id: 1, waMessageId: 1, chatJid: 1, participant: 1, waAddress: 1 },
      )
      .sort({ readAt: 1, _id: 1 })
      .limit(limit)
      .lean<MessageRecord[]>()
      .exec();
  }

  /** Their receipts reached WhatsApp (or can no longer: the session was logged out). */
  async clearPendingReceipts(filter: { ids: string[] } | { sessionId: string }): Promise<void> {
    const scope = 'ids' in filter ? { _id: { $in: filter.ids } } : { sessionId: filter.sessionId };
    await this.model
      .updateMany({ ...scope, readReceiptPending: true }, { $unset: { readReceiptPending: 1 } })
      .exec();
  }

  /**
   * Claims a due message for one send attempt (counted in `attempts`) in the name of `owner` (an
   * instance id); the claim expires so a crash mid-send retries.
   */
  claim(
    id: string,
    now: Date,
    claimMs: number,
    owner: string,
  ): Promise<(MessageRecord & { attempts: number }) | null> {
    return this.model
      .findOneAndUpdate(
        { _id: id, status: 'pending', nextAttemptAt: { $lte: now } },
        {
          $set: { nextAttemptAt: new Date(now.getTime() + claimMs), claimedBy: owner },
          $inc: { attempts: 1 },
        },
        { returnDocument: 'after' },
      )
      .lean<MessageRecord & { attempts: number }>()
      .exec();
  }

  /** A claim of `owner` under which nothing was sent (its answer was lost): the send is due now. */
  async releaseClaim(id: string, owner: string, now: Date): Promise<void> {
    await this.model
      .updateOne(
        { _id: id, status: 'pending', claimedBy: owner },
        { $set: { nextAttemptAt: now }, $unset: { claimedBy: 1 } },
      )
      .exec();
  }

  /** The attempt failed: the claim ends and the message waits for its retry. */
  async scheduleRetry(id: string, at: Date, error: string): Promise<void> {
    await this.model
      .updateOne(
        { _id: id, status: 'pending' },
        { $set: { nextAttemptAt: at, error }, $unset: { claimedBy: 1 } },
      )
      .exec();
  }

  /**
   * At boot, before this process claims anything: sends still claimed under its own instance id
   * were in flight when its previous run died. They are due now instead of when the claim runs out,
   * which held up their chats. Another instance's claims are left to expire.
   */
  async releaseClaimsOf(owner: string, now: Date): Promise<number> {
    const res = await this.model
      .updateMany(
        { claimedBy: owner, status: 'pending' },
        { $set: { nextAttemptAt: now }, $unset: { claimedBy: 1 } },
      )
      .exec();
    return res.modifiedCount;
  }

  async sessionsWithDuePending(now: Date): Promise<string[]> {
    return (await this.model
      .distinct('sessionId', { status: 'pending', nextAttemptAt: { $lte: now } })
      .exec()) as string[];
  }

  pendingOf(filter: MessageFilter, limit: number): Promise<MessageRecord[]> {
    return this.model
      .find({ ...filter, status: 'pending' })
      .sort({ createdAt: 1 })
      .limit(limit)
      .lean<MessageRecord[]>()
      .exec();
  }

  async setFields(
    filter: MessageFilter,
    set: Record<string, unknown>,
    unset: Record<string, 1> = {},
  ): Promise<void> {
    await this.model.updateOne(filter, { $set: set, $unset: unset }).exec();
  }

  /** The downloads still to come of a session's received media can no longer happen. */
  async failPendingDownloads(sessionId: string, reason: string): Promise<number> {
    const result = await this.model
      .updateMany(
        { sessionId, 'media.downloadStatus': 'pending' },
        { $set: { 'media.downloadStatus': 'failed', 'media.downloadError': reason } },
      )
      .exec();
    return result.modifiedCount;
  }

  /**
   * The message's stored media is discarded (see MessageStatusService): from now on it is not
   * served. Its storage key stays until the bytes are deleted (`forgetDiscardedMedia`), so a crash
   * in between leaves the recovery the key to delete, and the orphan sweep leaves the bytes alone.
   */
  async markMediaDiscarded(id: string): Promise<void> {
    await this.setFields(
      { _id: id, 'media.downloadStatus': 'stored' },
      { 'media.downloadStatus': 'discarded' },
    );
  }

  /** The bytes of the message's discarded media, stored under `storageKey`, are deleted. */
  async forgetDiscardedMedia(id: string, storageKey: string): Promise<void> {
    await this.setFields(
      { _id: id, 'media.downloadStatus': 'discarded', 'media.storageKey': storageKey },
      {},
      { 'media.storageKey': 1 },
    );
  }

  /**
   * Which of these media keys messages hold: as their stored media (`media.storageKey`), or as the
   * download still to come of a received message (stored under the message's id).
   */
  async mediaKeysHeld(keys: string[]): Promise<Set<string>> {
    const [stored, downloading] = await Promise.all([
      this.model
        .find({ 'media.storageKey': { $in: keys } }, { 'media.storageKey': 1 })
        .lean<Array<Pick<MessageRecord, 'media'>>>()
        .exec(),
      this.model
        .find({ _id: { $in: keys }, 'media.downloadStatus': 'pending' }, { _id: 1 })
        .lean<Array<{ _id: string }>>()
        .exec(),
    ]);
    return new Set([
      ...stored.flatMap((m) => (m.media?.storageKey ? [m.media.storageKey] : [])),
      ...downloading.map((m) => String(m._id)),
    ]);
  }

  /** Ids of messages whose media is still to download, in id order after `after` (a page of them). */
  async pendingMediaDownloads(
    limit: number,
    after?: string,
    sessionId?: string,
  ): Promise<string[]> {
    const rows = await this.model
      .find(
        {
          'media.downloadStatus': 'pending',
          mediaRef: { $exists: true },
          ...(sessionId ? { sessionId } : {}),
          ...(after ? { _id: { $gt: after } } : {}),
        },
        { _id: 1 },
      )
      .sort({ _id: 1 })
      .limit(limit)
      .lean<Array<{ _id: string }>>()
      .exec();
    return rows.map((r) => r._id);
  }

  async mediaRefOf(id: string): Promise<Record<string, unknown> | undefined> {
    const doc = await this.model
      .findById(id, { mediaRef: 1 })
      .lean<{ mediaRef?: Record<string, unknown> }>()
      .exec();
    return doc?.mediaRef;
  }
}
