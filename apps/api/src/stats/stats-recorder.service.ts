import { Injectable, Logger } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import type { MessageRecord } from '../messaging/message.types';
import {
  MESSAGING_EVENTS,
  type MessageCreatedEvent,
  type MessageStatusChangedEvent,
} from '../messaging/messaging.events';
import {
  createdIncrement,
  isConversational,
  normalizeFailureReason,
  responseBin,
  transitionIncrement,
} from './stats-counters';
import { bucketStart, dayKey } from './stats-range';
import { StatsRepository } from './stats.repository';

/** The instant a message is counted at: its WhatsApp timestamp, else when it was stored. */
export const messageTime = (message: Pick<MessageRecord, 'timestamp' | 'createdAt'>): Date =>
  new Date(message.timestamp ?? message.createdAt);

/**
 * Maintains the stats counters from messaging events.
 *
 * Idempotency: a message is counted once, when its `stats_message_states` row is inserted (unique
 * `_id`); a status change is applied only if it moves that row forward (conditional update), so
 * duplicate, replayed and out-of-order events are no-ops. A status event for a message whose
 * `created` event has not arrived yet counts the message with that status; the late `created` is
 * then a no-op. Trade-off: the state write and the counter `$inc` are two writes (no multi-document
 * transaction on the embedded store); a crash between them loses that one increment (at most
 * once), it never double-counts.
 */
@Injectable()
export class StatsRecorder {
  private readonly logger = new Logger(StatsRecorder.name);

  constructor(private readonly repository: StatsRepository) {}

  @OnEvent(MESSAGING_EVENTS.created)
  async onMessageCreated(event: MessageCreatedEvent): Promise<void> {
    await this.guard('created', event.message, async () => {
      const message = event.message;
      await this.count(message, message.status);
      await this.trackResponsiveness(message);
    });
  }

  @OnEvent(MESSAGING_EVENTS.statusChanged)
  async onStatusChanged(event: MessageStatusChangedEvent): Promise<void> {
    await this.guard('status', event.message, async () => {
      const { message, status } = event;
      if (message.direction !== 'out') return; // delivery statuses are counted for outgoing messages only
      const before = await this.repository.advanceMessageStatus(
        message.organizationId,
        message._id,
        status,
      );
      if (before) {
        await this.repository.incrementBuckets(
          before.organizationId,
          before.sessionName,
          before.hour,
          transitionIncrement(before.status, status),
        );
        if (status === 'failed')
          await this.repository.incrementFailure(
            before.organizationId,
            before.sessionName,
            before.hour,
            normalizeFailureReason(message.error),
          );
        return;
      }
      // Not moved: either already at/after `status` (duplicate / out of order), or not counted yet.
      await this.count(message, status);
    });
  }

  /** Counts a message once, under `status`. */
  private async count(message: MessageRecord, status: MessageRecord['status']): Promise<void> {
    const at = messageTime(message);
    const hour = bucketStart(at, 'hour');
    const inserted = await this.repository.insertMessageState({
      _id: message._id,
      organizationId: message.organizationId,
      sessionName: message.sessionName,
      direction: message.direction,
      status,
      hour,
    });
    if (!inserted) return;
    await this.repository.incrementBuckets(
      message.organizationId,
      message.sessionName,
      at,
      createdIncrement({ ...message, status }),
    );
    if (message.direction === 'out' && status === 'failed') {
      await this.repository.incrementFailure(
        message.organizationId,
        message.sessionName,
        at,
        normalizeFailureReason(message.error),
      );
    }
  }

  /** Inbound opens a chat's wait for a reply; our next outgoing message closes it and stores a sample. */
  private async trackResponsiveness(message: MessageRecord): Promise<void> {
    if (!isConversational(message)) return;
    const at = messageTime(message);
    const { organizationId, sessionName, chatJid } = message;
    if (message.direction === 'in') {
      await this.repository.markAwaiting(organizationId, sessionName, chatJid, at);
      return;
    }
    const since = await this.repository.resolveAwaiting(organizationId, sessionName, chatJid, at);
    if (!since) return;
    const responseMs = at.getTime() - since.getTime();
    const bin = responseBin(responseMs);
    const inserted = await this.repository.insertResponseSample({
      _id: message._id,
      organizationId,
      sessionName,
      chatJid,
      day: dayKey(since),
      inboundAt: since,
      respondedAt: at,
      responseMs,
      bin,
    });
    // The histogram the median is located with, in the buckets of the inbound message's time.
    if (inserted)
      await this.repository.incrementBuckets(organizationId, sessionName, since, {
        [`rt.${bin}`]: 1,
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
