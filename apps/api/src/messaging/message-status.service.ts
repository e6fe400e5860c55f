import { Inject, Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { ChatCountsService } from './chat-counts.service';
import { EarlyReceiptsRepository } from './early-receipts.repository';
import { MEDIA_STORAGE, type MediaStorage } from './media/media-storage';
import { type MessageFilter, MessagesRepository } from './messages.repository';
import {
  type MessageRecord,
  type MessageStatus,
  PLAYABLE_TYPES,
  statusesBelow,
  statusTimeOf,
} from './message.types';
import {
  type CreationNote,
  MESSAGING_EVENTS,
  type MessagesCreatedEvent,
  type MessageStatusChangedEvent,
} from './messaging.events';

/**
 * The one place message statuses change. Transitions are conditional updates (forward only), and
 * each real transition is emitted once, after the write. The write also notes that its effects
 * (the chat's unread count once our message went out, stats, the event log) are still to run
 * (`statusEffectsAt`); the note is cleared once they ran, so a crash in between leaves it for
 * MessageEffectsRecovery, which replays them. A send that failed for good also has its stored
 * media deleted among those effects: it can never go out, and the bytes were kept only for that.
 */
@Injectable()
export class MessageStatusService {
  constructor(
    private readonly messages: MessagesRepository,
    private readonly earlyReceipts: EarlyReceiptsRepository,
    private readonly counts: ChatCountsService,
    private readonly events: EventEmitter2,
    @Inject(MEDIA_STORAGE) private readonly media: MediaStorage,
  ) {}

  /** Announces newly stored messages of one session; resolves once every subscriber is done. */
  async emitCreated(
    sessionId: string,
    messages: MessageRecord[],
    notes: readonly CreationNote[],
    replayed = false,
  ): Promise<void> {
    if (!messages.length) return;
    await this.events.emitAsync(MESSAGING_EVENTS.created, {
      sessionId,
      messages,
      notes,
      ...(replayed ? { replayed } : {}),
    } satisfies MessagesCreatedEvent);
  }

  async advance(
    filter: MessageFilter,
    status: MessageStatus,
    at: Date,
    extra: Partial<MessageRecord> = {},
  ): Promise<MessageRecord | null> {
    const result = await this.messages.advanceStatus(filter, status, at, extra);
    if (!result) return null;
    await this.emitChanged(result.after, at);
    return result.after;
  }

  /** A receipt from WhatsApp for one of a session's messages. */
  async applyReceipt(
    sessionId: string,
    waMessageId: string,
    status: MessageStatus,
    at: Date,
  ): Promise<void> {
    const updated = await this.advanceByReceipt(sessionId, waMessageId, status, at);
    if (updated) return;
    const known = await this.messages.findByWaId(sessionId, waMessageId);
    if (known) {
      // Stored (or marked sent) between the update and this look-up: the receipt applies now.
      // Otherwise it is a late or duplicate receipt of a message already further along.
      if (known.direction === 'out' && statusesBelow(status).includes(known.status))
        await this.advanceByReceipt(sessionId, waMessageId, status, at);
      return;
    }
    // Before its message: held in the database, so whichever instance stores the message (or
    // replays its effects), after a restart too, applies it (see applyEarlyReceipts).
    await this.earlyReceipts.hold(sessionId, waMessageId, { status, at });
    // Stored since the look-up, its early receipts already looked for: applied here instead.
    if (await this.messages.findByWaId(sessionId, waMessageId))
      await this.applyEarlyReceipts(sessionId, [waMessageId]);
  }

  /** pending → sent with WhatsApp's id, then any receipts that arrived first. */
  async markSent(message: MessageRecord, waMessageId: string, at: Date): Promise<void> {
    const result = await this.messages.markSent(message._id, message.sessionId, waMessageId, at);
    if (result) await this.emitChanged(result.after, at);
    await this.applyEarlyReceipts(message.sessionId, [waMessageId]);
  }

  /**
   * The receipts that came before these messages were stored (a send's own bookkeeping, or a
   * message typed on the phone whose receipt Baileys handed over before the message), now that
   * they are: one look-up for them all. Forgotten once applied; a failure leaves them held for the
   * caller's retry (the outbox repeats this through an outage, recovery replays a creation's
   * effects): applied again, those that moved the message change nothing, their effects replayed.
   */
  async applyEarlyReceipts(sessionId: string, waMessageIds: string[]): Promise<void> {
    if (!waMessageIds.length) return;
    for (const held of await this.earlyReceipts.findOf(sessionId, waMessageIds)) {
      for (const { status, at } of held.receipts)
        await this.advanceByReceipt(sessionId, held.waMessageId, status, at);
      await this.earlyReceipts.remove(sessionId, held);
    }
  }

  /**
   * Applies a receipt to one of OUR messages (a receipt naming a received one changes nothing:
   * reading those is `read-elsewhere`'s or marking read's); `played` of a message that cannot be
   * played (a text) moves it to read.
   */
  private async advanceByReceipt(
    sessionId: string,
    waMessageId: string,
    status: MessageStatus,
    at: Date,
  ): Promise<MessageRecord | null> {
    const ours = { sessionId, waMessageId, direction: 'out' as const };
    if (status !== 'played') return this.advance(ours, status, at);
    const playable = { $in: [...PLAYABLE_TYPES] };
    return (
      (await this.advance({ ...ours, type: playable }, 'played', at)) ??
      (await this.advance({ ...ours, type: { $nin: playable.$in } }, 'read', at))
    );
  }

  fail(filter: MessageFilter, reason: string, at = new Date()): Promise<MessageRecord | null> {
    return this.advance(filter, 'failed', at, { error: reason });
  }

  /**
   * Recovery: the effects of a message's status change that a crash cut off run (again) for the
   * status it has now; they are idempotent (stats per-message state, the event's source key).
   */
  replayEffects(message: MessageRecord): Promise<void> {
    return this.emitChanged(message, statusTimeOf(message) ?? message.updatedAt, true);
  }

  private async emitChanged(changed: MessageRecord, at: Date, replayed = false): Promise<void> {
    // First, so the event shows the media as it now is.
    const message = await this.discardMediaOfFailed(changed);
    // Our message that went out clears its chat's unread count (a no-op once it did: every
    // change of ours runs it, so a replay or a later receipt finishes what a crash cut off).
    await this.counts.countWentOut(message);
    const event: MessageStatusChangedEvent = {
      message,
      status: message.status,
      at,
      ...(replayed ? { replayed } : {}),
    };
    await this.events.emitAsync(MESSAGING_EVENTS.statusChanged, event);
    if (message.statusEffectsAt)
      await this.messages.clearStatusEffects(message._id, message.statusEffectsAt);
  }

  /**
   * Discards the stored media of a send that failed (failed is final): marks it discarded, then
   * deletes the bytes, then drops their key. In that order a reader gets the media (200) until the
   * message says discarded (410), never a missing file (404) in between; and a crash before the
   * bytes are gone leaves the key on the message and the change's effects noted, so the replay of
   * the change (MessageEffectsRecovery) finishes here, deleting again (a no-op for bytes gone).
   */
  private async discardMediaOfFailed(message: MessageRecord): Promise<MessageRecord> {
    const media = message.media;
    const held = media?.downloadStatus === 'stored' || media?.downloadStatus === 'discarded';
    if (message.status !== 'failed' || !held || !media.storageKey) return message;
    await this.messages.markMediaDiscarded(message._id);
    await this.media.delete(media.storageKey);
    await this.messages.forgetDiscardedMedia(message._id, media.storageKey);
    const { storageKey: _deleted, ...kept } = media;
    return { ...message, media: { ...kept, downloadStatus: 'discarded' } };
  }
}
