import { groupBy, isLidJid, phoneFromJid, USER_SERVER } from '@app/common';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { type MessageRecord, type MessageStatus, wentOut } from '../messaging/message.types';
import {
  type CreationNote,
  MESSAGING_EVENTS,
  type MessagesCreatedEvent,
  type MessageStatusChangedEvent,
} from '../messaging/messaging.events';
import { EFFECTS_GRACE_MS } from '../messaging/message-creations.repository';
import type { MarkedIncrement } from './counter-marks';
import {
  createdIncrement,
  type CounterIncrement,
  isConversational,
  normalizeFailureReason,
  responseBin,
  transitionIncrement,
} from './stats-counters';
import { bucketStart, dayKey } from './stats-range';
import {
  type ChatRef,
  STATS_LID_SOURCE,
  STATS_MESSAGES_SOURCE,
  type StatsLidSource,
  type StatsMessagesSource,
} from './stats.ports';
import {
  type LateInbound,
  type MessageStateRecord,
  type PendingChange,
  type ResponseSampleRecord,
  StatsRepository,
} from './stats.repository';

/** The instant a message is counted at: its WhatsApp timestamp, else when it was stored. */
export const messageTime = (message: Pick<MessageRecord, 'timestamp' | 'createdAt'>): Date =>
  new Date(message.timestamp ?? message.createdAt);

/**
 * Maintains the stats counters from messaging events.
 *
 * Idempotency: an outgoing message is counted once, when its `stats_message_states` row is inserted
 * (unique `_id`); a status change is applied only if it moves that row forward (conditional
 * update), so duplicate, replayed and out-of-order events are no-ops. A status event for a message
 * whose `created` event has not arrived yet counts the message with that status; the late
 * `created` is then a no-op. Received messages have no status to follow: they are counted once per
 * write-ahead note they were stored under (`stats_counted_notes`), one claim per batch instead of
 * a row per message. Each change is noted pending with its claim and applied under a marker, so a
 * crash replay finishes it exactly once (counter-marks, README). Response-time samples are the
 * exception: sample insert and histogram `$inc` are two writes, at most once.
 */
@Injectable()
export class StatsRecorder {
  private readonly logger = new Logger(StatsRecorder.name);

  constructor(
    private readonly repository: StatsRepository,
    @Inject(STATS_MESSAGES_SOURCE) private readonly messages: StatsMessagesSource,
    @Inject(STATS_LID_SOURCE) private readonly lids: StatsLidSource,
  ) {}

  @OnEvent(MESSAGING_EVENTS.created)
  async onMessagesCreated(event: MessagesCreatedEvent): Promise<void> {
    if (!event.messages.length) return;
    await this.guard('created', event.messages[0], async () => {
      await this.count(event.messages, event.notes);
      await this.trackResponsiveness(event.messages);
    });
  }

  @OnEvent(MESSAGING_EVENTS.statusChanged)
  async onStatusChanged(event: MessageStatusChangedEvent): Promise<void> {
    await this.guard('status', event.message, async () => {
      const { message, status } = event;
      if (message.direction !== 'out') return; // delivery statuses are counted for outgoing messages only
      const reason = status === 'failed' ? normalizeFailureReason(message.error) : undefined;
      const advance = () =>
        this.repository.advanceMessageStatus(message.organizationId, message._id, status, {
          at: new Date(),
          ...(reason ? { reason } : {}),
        });
      let before = await advance();
      if (!before) {
        // Not moved: already at/after `status` (a duplicate, out of order, or a replay that
        // finishes what a crash left pending), or not counted yet.
        const fresh = await this.countByState([{ ...message, status }]);
        // Not counted yet: this status overtook `created`, whose handler takes the message as pending.
        if (fresh.size) {
          if (wentOut(status)) await this.trackResponsiveness([message]);
          return;
        }
        // The state exists: it was there already, or `created` inserted it (pending) between our
        // two writes, so the move is tried once more (one more round trip when it was there).
        before = await advance();
        // A replay of a change whose move ran before the crash: the answer may be what it cut off
        // (one more read, on replays only).
        if (!before && event.replayed && wentOut(status)) {
          const state = await this.repository.answerOf(message._id);
          if (state && answerLeftToDo(state)) await this.answer(message);
          return;
        }
      }
      if (before) {
        // Changes a crash left pending on this state are finished with this one, whatever their
        // age: no replay may come back for them (the message's recovery replays only its latest
        // status). A handler still applying one of them counts nothing twice: seeing this move,
        // it leaves its markers in the buckets (applyStateChanges).
        await this.applyStateChanges([
          ...pendingChanges(before, () => true),
          {
            state: before,
            key: status,
            inc: transitionIncrement(before.status, status),
            reason,
          },
        ]);
        // The reply went out now: it answers what waited (a failed one never does). A later
        // status also finishes the answer of an earlier move that a crash cut off.
        if (wentOut(status) && (before.status === 'pending' || answerLeftToDo(before)))
          await this.answer(message);
      }
    });
  }

  /**
   * Our reply that went out answers what waited in its chat, then its state says so: until then a
   * later status or the replay of this change answers again (idempotent: the sample's id is the
   * reply's).
   */
  private async answer(message: MessageRecord): Promise<void> {
    await this.trackResponsiveness([message]);
    await this.repository.markAnswered(message._id);
  }

  /**
   * Counts each message once, in a few round trips for the whole batch: received ones under the
   * claim of their note, the others (and any not in a note) under a state row each.
   */
  private async count(messages: MessageRecord[], notes: readonly CreationNote[]): Promise<void> {
    const noteOf = new Map(notes.flatMap((n) => n.messageIds.map((id) => [id, n.id] as const)));
    const byNoteClaim = (m: MessageRecord) => m.direction === 'in' && noteOf.has(m._id);
    await this.countByState(messages.filter((m) => !byNoteClaim(m)));
    await this.countByNote(groupBy(messages.filter(byNoteClaim), (m) => noteOf.get(m._id)!));
  }

  /** Received messages, counted once per note: its claim carries the batch's increments. */
  private async countByNote(byNote: Map<string, MessageRecord[]>): Promise<void> {
    if (!byNote.size) return;
    const claims = [...byNote].map(([_id, messages]) => ({
      _id,
      pending: foldByHour(
        messages.map((m) => ({
          organizationId: m.organizationId,
          sessionName: m.sessionName,
          at: messageTime(m),
          inc: createdIncrement(m),
        })),
      ),
    }));
    const fresh = await this.repository.claimNotes(claims);
    // A replayed note whose claim exists: whatever a crash left pending is finished now.
    const unfinished = (
      await this.repository.pendingNoteClaims(
        claims.filter((c) => !fresh.has(c._id)).map((c) => c._id),
      )
    ).filter((c) => cutOff(c.createdAt));
    const todo = [...claims.filter((c) => fresh.has(c._id)), ...unfinished];
    await this.applyOnce(
      todo.flatMap((c) => (c.pending ?? []).map((p) => ({ ...p, marker: `note:${c._id}` }))),
      () => this.repository.clearPendingNoteClaims(todo.map((c) => c._id)),
    );
  }

  /**
   * Counts `messages` once each under a state row (their `status`), finishing pending changes.
   * Returns the ids counted now (not before).
   */
  private async countByState(messages: MessageRecord[]): Promise<Set<string>> {
    if (!messages.length) return new Set();
    const states = messages.map((m): MessageStateRecord => {
      const failed = m.direction === 'out' && m.status === 'failed';
      return {
        _id: m._id,
        organizationId: m.organizationId,
        sessionName: m.sessionName,
        direction: m.direction,
        status: m.status,
        hour: bucketStart(messageTime(m), 'hour'),
        path: [m.status],
        pending: {
          created: {
            at: new Date(),
            inc: createdIncrement(m),
            ...(failed ? { reason: normalizeFailureReason(m.error) } : {}),
          },
        },
      };
    });
    const fresh = await this.repository.insertMessageStates(states);
    // States that existed: a replay finishes the changes a crash left pending on them.
    const unfinished = await this.repository.pendingStates(
      states.filter((s) => !fresh.has(s._id)).map((s) => s._id),
    );
    await this.applyStateChanges([
      ...states
        .filter((s) => fresh.has(s._id))
        .flatMap((state) => pendingChanges(state, () => true)),
      ...unfinished.flatMap((state) => pendingChanges(state, (change) => cutOff(change.at))),
    ]);
    return fresh;
  }

  /**
   * Pending changes of states: into the counters under their markers, then their claims cleared.
   * A state moved after a change was noted had the change read pending by that move, whose
   * handler finishes it too (onStatusChanged), maybe only now: the change's markers stay in the
   * counters so that second apply is refused (markers are never reused: one left is harmless).
   */
  private applyStateChanges(changes: StateChange[]): Promise<void> {
    const items = changes.map(({ state, key, inc, reason }) => ({
      organizationId: state.organizationId,
      sessionName: state.sessionName,
      at: state.hour,
      inc,
      reason,
      marker: markerOf({ id: state._id, key }),
    }));
    return this.applyOnce(items, async () => {
      if (!changes.length) return items;
      await this.repository.clearPendingStates(
        changes.map((c) => ({ id: c.state._id, key: c.key })),
      );
      const paths = await this.repository.statePaths(changes.map((c) => c.state._id));
      return items.filter((_, i) => !movedSince(changes[i], paths.get(changes[i].state._id)));
    });
  }

  /**
   * Applies changes whose claims were written: into the counters (each marker once), then the
   * claims cleared, then the markers released (those `clearClaims` returns, else all). A crash
   * anywhere leaves the claim pending, and the replay that finds it applies what is missing and
   * nothing twice.
   */
  private async applyOnce(
    items: MarkedIncrement[],
    clearClaims: () => Promise<MarkedIncrement[] | void>,
  ) {
    if (items.length) await this.repository.applyMarked(items);
    const releasable = (await clearClaims()) ?? items;
    if (releasable.length) await this.repository.releaseMarkers(releasable);
  }

  /**
   * Inbound opens a chat's wait for a reply; our next outgoing message that went out closes it and
   * stores a sample. A reply accepted for sending answers once its status first leaves `pending`
   * for one that reached WhatsApp (the status handler); a failed one answers nothing, so the wait
   * stays open for the reply that does go out. Chats with only inbound messages in the batch are
   * marked together; a chat with an outgoing one is replayed message by message, as order decides
   * which inbound it answers. An inbound message can be stored after our reply to it (a quick
   * reply is accepted while the inbound batch is still being written): that reply, found among
   * the messages, answers it. Times are the messages' own: a reply older than the wait answers
   * nothing, and one that answers leaves a later inbound message waiting.
   */
  private async trackResponsiveness(messages: MessageRecord[]): Promise<void> {
    const byChat = groupBy(
      messages.filter(
        (m) =>
          isConversational(m) &&
          // History sync is a partial copy of what happened before linking (replies may be
          // missing from it): its messages neither open nor answer waits.
          !m.history &&
          (m.direction === 'in' || wentOut(m.status)),
      ),
      (m) => `${m.organizationId}|${m.sessionName}|${m.chatJid}`,
    );
    const waiting: Parameters<StatsRepository['markAwaitingMany']>[0] = [];
    const late: LateInbound[] = [];
    for (const chat of byChat.values()) {
      if (chat.every((m) => m.direction === 'in')) {
        const { organizationId, sessionName, chatJid } = chat[0];
        waiting.push({ organizationId, sessionName, chatJid, times: chat.map(messageTime) });
      } else {
        for (const m of chat) {
          const answered = await this.trackOne(m);
          if (answered) late.push(answered);
        }
      }
    }
    late.push(...(await this.repository.markAwaitingMany(waiting)));
    for (const inbound of late) await this.answerLate(inbound);
  }

  /** Returns an inbound message as late when a reply at or after its time was stored first. */
  private async trackOne(message: MessageRecord): Promise<LateInbound | undefined> {
    const at = messageTime(message);
    const { organizationId, sessionName, chatJid } = message;
    if (message.direction === 'in') {
      const late = await this.repository.markAwaiting(organizationId, sessionName, chatJid, at);
      return late ? { organizationId, sessionName, chatJid, at } : undefined;
    }
    const own: ChatRef = { organizationId, sessionName, chatJid };
    let chat = own;
    const resolved = await this.repository.resolveAwaiting(
      organizationId,
      sessionName,
      chatJid,
      at,
    );
    let answered = resolved.since ? resolved : undefined;
    if (!answered) {
      // The same person may wait at their other address: a LID sender's messages stay in the LID
      // chat once WhatsApp revealed their phone, while replies to the phone go to the phone chat.
      const other = await this.otherAddress(message);
      if (other) {
        chat = { ...own, chatJid: other };
        const there = await this.repository.resolveAwaiting(
          organizationId,
          sessionName,
          other,
          at,
          true,
        );
        answered = there.since ? there : undefined;
      }
    }
    if (!answered) {
      if (!resolved.since && resolved.laterReply)
        await this.answerInTimeOrder(message._id, own, at);
      return undefined;
    }
    await this.recordSample(message._id, chat, answered.since, at);
    // A reply of ours between the wait's start and this one answered its beginning: one older
    // whose stats were handled in between (they found no sample of ours to move yet).
    const between = await this.messages.lastReplyBefore(chat, at);
    if (between && between.timestamp >= answered.since) {
      const sample = await this.repository.findResponseSample(message._id, sampleSlot(chat, at));
      if (sample && sample.inboundAt <= between.timestamp)
        await this.answerAfter(sample, between.timestamp);
    }
    // An inbound message later than this reply (stored before it went out, or the reply arrived
    // late) is not answered by it: the wait reopens at the first one, read from the messages.
    if (!answered.laterInbound) return undefined;
    const next = await this.messages.firstInboundAfter(chat, at);
    if (!next) return undefined;
    const late = await this.repository.markAwaiting(
      organizationId,
      sessionName,
      chatJid,
      new Date(next.timestamp),
    );
    return late ? { ...chat, at: new Date(next.timestamp) } : undefined;
  }

  /**
   * A reply older than one of ours already counted in its chat (an offline queue brought it late,
   * or the ingest of a message typed on the phone was overtaken by a live reply going out) takes
   * its place in time: it answers the first inbound message after the reply before it, and the
   * later reply whose wait it falls in keeps only what came after it (or nothing). With the
   * check a reply makes after storing its sample (trackOne), samples follow message times
   * whatever order the events were handled in. Only on this path: three indexed reads.
   */
  private async answerInTimeOrder(replyId: string, chat: ChatRef, at: Date): Promise<void> {
    const before = await this.messages.lastReplyBefore(chat, at);
    const question = await this.messages.firstInboundAfter(chat, before?.timestamp ?? EPOCH);
    if (question && question.timestamp <= at)
      await this.recordSample(replyId, chat, question.timestamp, at);
    const spanned = await this.repository.sampleSpanning(chat, at);
    if (spanned) await this.answerAfter(spanned, at);
  }

  /**
   * A reply of ours at `replied` answered the beginning of `sample`'s wait: its reply answers
   * only the first inbound message after that, or nothing when none came before it.
   */
  private async answerAfter(sample: ResponseSampleRecord, replied: Date): Promise<void> {
    const next = await this.messages.firstInboundAfter(sample, replied);
    await this.moveSample(
      sample,
      next && next.timestamp <= sample.respondedAt ? next.timestamp : null,
    );
  }

  /**
   * The chat address of the same person by the session's recorded LID mapping (Contacts): the
   * phone chat of a LID chat, the LID chat of a phone chat; none for groups or without a mapping.
   * One indexed read, only for a reply that answered nothing in its own chat.
   */
  private async otherAddress(message: MessageRecord): Promise<string | undefined> {
    const { organizationId, sessionId, sessionName, chatJid } = message;
    const session = { organizationId, sessionId, sessionName };
    if (isLidJid(chatJid)) {
      const phone = await this.lids.phoneOf(session, chatJid);
      return phone ? `${phone}@${USER_SERVER}` : undefined;
    }
    const phone = phoneFromJid(chatJid);
    return phone ? this.lids.lidOf(session, phone) : undefined;
  }

  /**
   * The first reply at or after a late inbound message answers it, unless that reply already
   * answered an earlier one (its sample exists: the wait began before this message).
   */
  private async answerLate(inbound: LateInbound): Promise<void> {
    const { at, ...chat } = inbound;
    const reply = await this.messages.firstReplyAt(chat, at);
    if (reply) await this.recordSample(reply._id, chat, at, new Date(reply.timestamp));
  }

  /**
   * One sample per outgoing message (its id), counted in the inbound message's buckets, and one
   * per chat and reply time: replies of the same millisecond answer the same wait, the first one
   * counted holds it. A reply (or one of its time) that has one already answers from the earliest
   * inbound message found for it: one stored late (an offline queue) that no reply came between
   * moves its sample earlier.
   */
  private async recordSample(replyId: string, chat: ChatRef, since: Date, at: Date): Promise<void> {
    const { organizationId, sessionName, chatJid } = chat;
    const slot = sampleSlot(chat, at);
    const sample = { _id: replyId, organizationId, sessionName, chatJid, respondedAt: at, slot };
    const timing = sampleTiming(since, at);
    if (await this.repository.insertResponseSample({ ...sample, ...timing }))
      // The histogram the median is located with, in the buckets of the inbound message's time.
      return this.repository.incrementBuckets(organizationId, sessionName, since, {
        [`rt.${timing.bin}`]: 1,
      });
    const existing = await this.repository.findResponseSample(replyId, slot);
    if (existing && existing.inboundAt > since) await this.moveSample(existing, since);
  }

  /**
   * Moves a sample to another inbound time (null: its reply answers nothing now), its histogram
   * count with it. Like the insert, at most once: the move and the two `$inc`s are three writes.
   */
  private async moveSample(sample: ResponseSampleRecord, since: Date | null): Promise<void> {
    const timing = since && sampleTiming(since, sample.respondedAt);
    if (!(await this.repository.moveResponseSample(sample, timing))) return;
    const { organizationId, sessionName } = sample;
    await this.repository.incrementBuckets(organizationId, sessionName, sample.inboundAt, {
      [`rt.${sample.bin}`]: -1,
    });
    if (timing)
      await this.repository.incrementBuckets(organizationId, sessionName, timing.inboundAt, {
        [`rt.${timing.bin}`]: 1,
      });
  }

  /**
   * Logs (ids only, never content) and swallows: Messaging emits after its own write, and a stats
   * failure must neither fail that write nor surface as an unhandled rejection of a sync `emit`.
   */
  private async guard(
    kind: string,
    message: MessageRecord,
    work: () => Promise<void>,
  ): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.logger.error(
        { err: error, kind, messageId: message._id, organizationId: message.organizationId },
        'Failed to update stats counters',
      );
    }
  }
}

const EPOCH = new Date(0);

/**
 * A state whose reply left `pending` for sent or beyond (the status handler answers then) and has
 * not answered yet: the handler that moved it was cut off before its last step.
 */
const answerLeftToDo = (state: Pick<MessageStateRecord, 'path' | 'answered'>): boolean =>
  !state.answered && state.path?.[0] === 'pending' && state.path.some((status) => wentOut(status));

/** One sample per chat and reply time: replies of the same millisecond answer the same wait. */
const sampleSlot = (chat: ChatRef, at: Date) =>
  `${chat.organizationId}|${chat.sessionName}|${chat.chatJid}|${at.toISOString()}`;

/** A sample's fields that depend on when its wait began. */
function sampleTiming(since: Date, at: Date) {
  const responseMs = at.getTime() - since.getTime();
  return { inboundAt: since, day: dayKey(since), responseMs, bin: responseBin(responseMs) };
}

const markerOf = (change: { id: string; key: string }) => `${change.id}:${change.key}`;

/** A change to the counters noted on a state: its key (`created` or a status) and what it adds. */
interface StateChange {
  state: MessageStateRecord;
  key: string;
  inc: CounterIncrement;
  reason?: string;
}

/**
 * Whether the state was moved after `change` was noted: its path went past the entry the change
 * made (the creation's first one, or the status it moved to). Unknown without a path (a state
 * written before paths were kept): not moved, as before.
 */
function movedSince(change: StateChange, path: MessageStatus[] | undefined): boolean {
  if (!path) return false;
  return change.key === 'created' ? path.length > 1 : path.at(-1) !== change.key;
}

/** The changes pending on `state` that `take` accepts, with the increment each adds. */
function pendingChanges(
  state: MessageStateRecord,
  take: (change: PendingChange) => boolean,
): StateChange[] {
  return Object.entries(state.pending ?? {}).flatMap(([key, change]) => {
    const inc = take(change) ? pendingIncrement(state, key) : undefined;
    return inc ? [{ state, key, inc, reason: change.reason }] : [];
  });
}

/**
 * The increment a pending change of a state adds: its creation's, or the move to a status from
 * the one counted before it (unknown for a state written before paths were kept: skipped).
 */
function pendingIncrement(state: MessageStateRecord, key: string): CounterIncrement | undefined {
  const change = state.pending?.[key];
  if (key === 'created') return change?.inc;
  const path = state.path ?? [];
  const previous = path[path.indexOf(key as MessageStatus) - 1];
  return previous ? transitionIncrement(previous, key as MessageStatus) : undefined;
}

/** A batch's increments folded per session and hour: what its claim keeps until they are counted. */
function foldByHour(items: Array<Omit<MarkedIncrement, 'marker' | 'reason'>>) {
  const folded = new Map<string, Omit<MarkedIncrement, 'marker' | 'reason'>>();
  for (const item of items) {
    const at = bucketStart(item.at, 'hour');
    const key = `${item.organizationId}|${item.sessionName}|${at.toISOString()}`;
    const row = folded.get(key) ?? { ...item, at, inc: {} };
    for (const [field, n] of Object.entries(item.inc)) row.inc[field] = (row.inc[field] ?? 0) + n;
    folded.set(key, row);
  }
  return [...folded.values()];
}

/**
 * A pending change this old was cut off by a crash: a live one is applied within milliseconds of
 * being noted, and replays come only for notes and status changes older than EFFECTS_GRACE_MS.
 * One younger is another handler's, in flight (a status event that overtook its `created`):
 * finishing it here could apply it after that handler released its markers, twice.
 */
const cutOff = (noted: Date | undefined) =>
  !noted || Date.now() - new Date(noted).getTime() > EFFECTS_GRACE_MS / 2;
