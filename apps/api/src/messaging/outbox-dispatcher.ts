import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type BeforeApplicationShutdown,
} from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import {
  APP_CONFIG,
  type AppConfig,
  INSTANCE_ID,
  OutageRetries,
  KeyedDrains,
  backoffDelay,
  releasePreviousRunClaims,
  isTransientDatabaseError,
  within,
} from '@app/common';
import {
  type OutboundContent,
  type SendResult,
  SessionQueryService,
  SessionRegistry,
  sessionNameOf,
  WA_EVENTS,
  type WaSessionStatusEvent,
} from '@app/whatsapp';
import { MEDIA_STORAGE, type MediaStorage } from './media/media-storage';
import { MessageStatusService } from './message-status.service';
import { MessagesRepository } from './messages.repository';
import type { MessageRecord, OutboundMediaType } from './message.types';
import { SendRateLimiter } from './send-rate-limiter';
import { quotedMessageOf } from './quoted-message';
import { RecentSends } from './recent-sends';

const BATCH = 50;
/**
 * A claimed message whose send never finished (crash) becomes due again after this; one claimed by
 * this instance's own previous run (same instance id) at once when it boots again.
 */
const CLAIM_MS = 60_000;
export const MAX_SEND_ATTEMPTS = 5;
const SWEEP_INTERVAL_MS = 1_000;

/** Longest wait between two attempts of a send. */
const MAX_RETRY_DELAY_MS = 60_000;
/** How often the sweep looks for queued messages whose session was deleted or logged out (one read per session). */
const DELETED_SESSIONS_CHECK_MS = 30_000;
const deletedReason = (sessionName: string) =>
  `Session '${sessionName}' was deleted before this message was sent`;
const loggedOutReason = (sessionName: string) => `Session '${sessionName}' was logged out`;

/**
 * Drains the outbox: per session, oldest first, one send at a time (so each chat keeps its order),
 * only while the session is connected on this instance. Engine errors retry with backoff; a
 * message that keeps failing, or waits past the deadline, ends `failed` with the reason. Each send
 * is claimed in this instance's name; before its first claim a process releases the claims left
 * under its own name (its previous run crashed mid-send), so those chats go on at once.
 */
@Injectable()
export class OutboxDispatcher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log = new Logger(OutboxDispatcher.name);
  private readonly drains = new KeyedDrains(
    (sessionId) => this.drain(sessionId),
    (err, sessionId) => this.log.error({ err, sessionId }, 'Outbox drain failed'),
  );
  private readonly inFlight = new Map<string, Promise<boolean>>();
  private readonly recentSends = new RecentSends();
  private readonly limiter: SendRateLimiter;
  private readonly deadlineMs: number;
  private readonly retryBaseMs: number;
  private ownClaimsReleased?: Promise<void>;
  private deletedCheckedAt = 0;
  /** Stopped at shutdown: a send's record is no longer waited for through an outage. */
  private readonly outage = new OutageRetries(this.log);

  constructor(
    private readonly registry: SessionRegistry,
    private readonly sessions: SessionQueryService,
    private readonly messages: MessagesRepository,
    private readonly status: MessageStatusService,
    @Inject(MEDIA_STORAGE) private readonly media: MediaStorage,
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(INSTANCE_ID) private readonly instanceId: string,
  ) {
    const defaultRate = config.WHATSAPP_ENGINE === 'baileys' ? 20 : 0;
    this.limiter = new SendRateLimiter(config.SEND_RATE_PER_MINUTE ?? defaultRate);
    this.deadlineMs = config.MESSAGE_PENDING_DEADLINE_SECONDS * 1000;
    this.retryBaseMs = config.MESSAGE_RETRY_BASE_MS;
  }

  onApplicationBootstrap(): void {
    this.drains.sweepEvery(SWEEP_INTERVAL_MS, () => this.sweep());
  }

  beforeApplicationShutdown(): Promise<void> {
    this.outage.stop();
    return this.drains.stop();
  }

  /** New work for a session: drain now (or again right after the current pass). */
  kick(sessionId: string): void {
    this.drains.kick(sessionId);
  }

  @OnEvent(WA_EVENTS.sessionStatus, { async: true, suppressErrors: true })
  async onSessionStatus(event: WaSessionStatusEvent): Promise<void> {
    if (event.replayed) return; // a past change, announced late: not the session's state now
    if (event.status === 'connected') this.kick(event.sessionId);
    if (event.status === 'logged_out') {
      // A send the engine was taking as the logout began ends by what the engine did: taken, it
      // is recorded `sent` (failed first, its record would say it never went out); refused, it
      // is pending again and fails with the rest.
      await this.sendsSettledWithin(event.sessionId, CLAIM_MS);
      await this.failAll(event.sessionId, loggedOutReason(event.sessionName));
    }
  }

  /** Safety net: due messages of connected sessions (retries, restarts) and expired deadlines. */
  async sweep(): Promise<void> {
    if (this.drains.stopped) return;
    try {
      await this.releaseOwnClaims();
      const now = new Date();
      const queued = await this.messages.sessionsWithDuePending(now);
      for (const sessionId of queued) {
        if (this.registry.isConnected(sessionId)) this.kick(sessionId);
      }
      if (now.getTime() - this.deletedCheckedAt >= DELETED_SESSIONS_CHECK_MS) {
        this.deletedCheckedAt = now.getTime();
        await this.failQueuesOfEndedSessions(queued);
      }
      await this.expireOverdue(now);
    } catch (err) {
      this.log.warn({ err }, 'Outbox sweep failed');
    }
  }

  /**
   * Once per process, before its first claim (every drain waits for it; a restored session may
   * kick one before the first sweep): sends claimed under this instance's id are its previous
   * run's, cut off by a crash, and are due now. A send cut off after WhatsApp took it goes again
   * (at-least-once, as after the claim's expiry). Done once only: a later pass would take this
   * run's own sends in flight. Should it fail, those sends wait out their claim as before.
   */
  private releaseOwnClaims(): Promise<void> {
    return (this.ownClaimsReleased ??= releasePreviousRunClaims(
      () => this.messages.releaseClaimsOf(this.instanceId, new Date()),
      this.log,
      this.instanceId,
      'sends',
    ));
  }

  /**
   * A logged-out or deleted session's queue fails when its logout is handled (`logged_out`), but a
   * holder that stopped or died right after answering the delete never got there, and a send
   * accepted while the logout or delete ran is stored after it: whatever is still queued for a
   * session that no longer exists, or is logged out, fails here (it would otherwise wait for the
   * next link, maybe of another number, or its deadline).
   */
  private async failQueuesOfEndedSessions(sessionIds: string[]): Promise<void> {
    for (const sessionId of sessionIds) {
      if (this.registry.isConnected(sessionId)) continue;
      const session = await this.sessions.findOne(sessionId);
      if (!session) await this.failAll(sessionId, deletedReason(sessionNameOf(sessionId)));
      else if (session.status === 'logged_out')
        await this.failAll(sessionId, loggedOutReason(session.sessionName));
    }
  }

  private async drain(sessionId: string): Promise<void> {
    await this.releaseOwnClaims();
    while (!this.drains.stopped && this.registry.isConnected(sessionId)) {
      const now = new Date();
      const due = await this.messages.duePending(sessionId, now, BATCH);
      if (due.length === 0) return;
      // Messages accepted for an earlier session under this name (deleted, then created again)
      // never go out through this one, whichever account it links.
      const session = await this.sessions.findOne(sessionId);
      const blocked = await this.messages.chatsAwaitingRetry(sessionId, now);
      let sentAny = false;
      for (const candidate of due) {
        if (this.drains.stopped || !this.registry.isConnected(sessionId)) return;
        if (!session || isOfEarlierSession(candidate, session.createdAt)) {
          await this.status.fail({ _id: candidate._id }, deletedReason(candidate.sessionName));
          continue;
        }
        // Nor through a later link (maybe of another number): one the logout could not fail.
        if (isOfEarlierLink(candidate, session.loggedOutAt)) {
          await this.status.fail({ _id: candidate._id }, loggedOutReason(candidate.sessionName));
          continue;
        }
        // Past its deadline it is failed, not sent late, though no sweep has got to it yet (the
        // clock read now: a rate-limited batch takes minutes).
        const checkedAt = new Date();
        if (this.isOverdue(candidate, checkedAt)) {
          // Unless another instance is sending it right now (see expireOverdue).
          const guard = { _id: candidate._id, ...notInFlight(checkedAt) };
          await this.status.fail(guard, this.overdueReason());
          continue;
        }
        if (blocked.has(candidate.chatJid)) continue;
        const wait = this.limiter.delayFor(sessionId);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const ok = await this.sendOne(candidate);
        sentAny = true;
        if (!ok) blocked.add(candidate.chatJid);
      }
      if (!sentAny) return; // everything due is behind a retry
    }
  }

  /**
   * Resolves once no send of this session is between "handed to the engine" and "WhatsApp id
   * stored". The engine echoes our own messages back as fromMe events (Baileys: right after
   * sendMessage); ingest waits for this so the echo finds the stored id instead of a second copy.
   */
  async sendsSettled(sessionId: string): Promise<void> {
    await this.inFlight.get(sessionId)?.catch(() => undefined);
  }

  /**
   * Whether this process handed the message to the engine lately: WhatsApp's ack of it (`sent`)
   * then changes nothing the send does not record itself.
   */
  sentHere(sessionId: string, waMessageId: string): boolean {
    return this.recentSends.has(sessionId, waMessageId);
  }

  /** sendsSettled, waited for at most `ms` (an engine that never answers holds up nothing). */
  private async sendsSettledWithin(sessionId: string, ms: number): Promise<void> {
    await within(this.sendsSettled(sessionId), ms, () => undefined);
  }

  /** false when the message is (still) waiting for a retry. */
  private async sendOne(candidate: MessageRecord): Promise<boolean> {
    const work = this.attemptSend(candidate);
    this.inFlight.set(candidate.sessionId, work);
    try {
      return await work;
    } finally {
      if (this.inFlight.get(candidate.sessionId) === work)
        this.inFlight.delete(candidate.sessionId);
    }
  }

  private async attemptSend(candidate: MessageRecord): Promise<boolean> {
    const message = await this.claim(candidate);
    if (!message) return true; // another worker took it, or it changed
    let sent: SendResult;
    try {
      const content = await this.contentOf(message);
      this.limiter.recordSend(message.sessionId);
      sent = await this.registry.send(message.sessionId, message.chatJid, content);
    } catch (error) {
      return this.sendFailed(message, error);
    }
    this.recentSends.remember(message.sessionId, sent.waMessageId);
    // WhatsApp has it: failing to store its id is not a failed send (sending again would reach the
    // recipient twice). An outage is waited out; safe to repeat (a forward-only update).
    await this.outage.run(
      () => this.status.markSent(message, sent.waMessageId, sent.timestamp ?? new Date()),
      'Database unreachable: the sent message is recorded once it answers',
      { messageId: message._id },
    );
    return true;
  }

  /**
   * A claim whose answer a broken connection lost may have been applied: the message would then
   * wait out the whole claim (60 s, holding up its chat) though nothing was sent under it. The claim
   * is given back once the database answers (an outage is waited out), and the failure thrown.
   */
  private async claim(candidate: MessageRecord) {
    try {
      return await this.messages.claim(candidate._id, new Date(), CLAIM_MS, this.instanceId);
    } catch (error) {
      if (!isTransientDatabaseError(error)) throw error;
      await this.outage.run(
        () => this.messages.releaseClaim(candidate._id, this.instanceId, new Date()),
        'Database unreachable: a send claim cut off is given back once it answers',
        { messageId: candidate._id },
      );
      throw error;
    }
  }

  /** An attempt the engine refused (or whose content could not be read): retry, or give up. */
  private async sendFailed(
    message: MessageRecord & { attempts: number },
    error: unknown,
  ): Promise<boolean> {
    const reason = (error as Error).message ?? String(error);
    if (message.attempts >= MAX_SEND_ATTEMPTS) {
      await this.status.fail(
        { _id: message._id },
        `Send failed after ${message.attempts} attempts: ${reason}`,
      );
      return true;
    }
    const delayMs = backoffDelay(message.attempts, {
      baseMs: this.retryBaseMs,
      capMs: MAX_RETRY_DELAY_MS,
    });
    await this.messages.scheduleRetry(message._id, new Date(Date.now() + delayMs), reason);
    this.drains.kickAfter(message.sessionId, delayMs);
    this.log.warn(
      { sessionId: message.sessionId, messageId: message._id, attempt: message.attempts, reason },
      'Send failed; will retry',
    );
    return false;
  }

  private async contentOf(message: MessageRecord): Promise<OutboundContent> {
    const quoted = message.quotedId
      ? await this.messages.findByWaId(message.sessionId, message.quotedId)
      : null;
    const common = {
      replyTo: quoted ? quotedMessageOf(quoted) : undefined,
      mentions: message.mentions,
    };
    if (message.type === 'text') return { ...common, type: 'text', text: message.text ?? '' };
    const buffer = await this.media.read(message.media!.storageKey!);
    if (!buffer) throw new Error('The media of this message is missing from storage');
    return {
      ...common,
      type: message.type as OutboundMediaType,
      buffer,
      mimetype: message.media!.mimetype,
      caption: message.caption,
      fileName: message.media!.fileName,
    };
  }

  /**
   * A send WhatsApp is taking (claimed, claim not run out) is left to its outcome: failed under it,
   * a message WhatsApp then took would stay failed. Checked in the update itself, so a drain that
   * claims the message between the read and the update keeps it.
   */
  private async expireOverdue(now: Date): Promise<void> {
    const overdue = await this.messages.pendingOf(
      { createdAt: { $lt: new Date(now.getTime() - this.deadlineMs) }, ...notInFlight(now) },
      BATCH,
    );
    for (const message of overdue)
      await this.status.fail({ _id: message._id, ...notInFlight(now) }, this.overdueReason());
  }

  private isOverdue(message: MessageRecord, now: Date): boolean {
    return new Date(message.createdAt).getTime() < now.getTime() - this.deadlineMs;
  }

  private overdueReason(): string {
    return `Session not connected within ${this.deadlineMs / 1000} s`;
  }

  /**
   * A failure that says the database is unreachable (the message's update, or its status event)
   * is waited out: a logged-out session's queue is failed once, when its logout is handled, and
   * what stayed pending would go out if the session is linked again. Any other failure is one
   * message's: it is logged and the rest of the queue goes on (a change whose effects failed is
   * replayed by MessageEffectsRecovery; a message whose update failed stays pending, is not tried
   * again by this call, and is failed by the drain of a later link instead of sent: see
   * isOfEarlierLink).
   */
  private async failAll(sessionId: string, reason: string): Promise<void> {
    const notMoved = new Set<string>();
    for (;;) {
      const left = notMoved.size ? { _id: { $nin: [...notMoved] } } : {};
      const pending = await this.messages.pendingOf({ sessionId, ...left }, BATCH);
      if (pending.length === 0) return;
      for (const message of pending) {
        const moved = await this.failOne(message._id, reason).catch((err: unknown) => {
          if (isTransientDatabaseError(err)) throw err; // an outage given up at shutdown: stop
          this.log.error(
            { err, sessionId, messageId: message._id },
            'Could not fail a queued message of an ended session',
          );
          return false;
        });
        if (!moved) notMoved.add(message._id);
      }
    }
  }

  /** Whether the message moved to failed (or may have, by a try the connection cut off). */
  private failOne(messageId: string, reason: string): Promise<boolean> {
    // Tried again, it may find the message failed by the try the connection cut off.
    return this.outage.run(
      async (attempt) => !!(await this.status.fail({ _id: messageId }, reason)) || attempt > 1,
      'Database unreachable: the queue of an ended session is failed once it answers',
      { messageId },
    );
  }
}

/** Accepted for a session of this name that was deleted since (this one was created after). */
const isOfEarlierSession = (message: MessageRecord, sessionCreatedAt: Date): boolean =>
  !!message.sessionCreatedAt &&
  new Date(message.sessionCreatedAt).getTime() !== new Date(sessionCreatedAt).getTime();

/** Accepted before the session's last logout: for the link that logout ended. */
const isOfEarlierLink = (message: MessageRecord, loggedOutAt: Date | undefined): boolean =>
  !!loggedOutAt &&
  (!message.sessionLoggedOutAt ||
    new Date(message.sessionLoggedOutAt).getTime() !== new Date(loggedOutAt).getTime());

/** A message no send is under: never claimed, or its claim ran out. */
function notInFlight(now: Date) {
  return { $or: [{ claimedBy: { $exists: false } }, { nextAttemptAt: { $lte: now } }] };
}
