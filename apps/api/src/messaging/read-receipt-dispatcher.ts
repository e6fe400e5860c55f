import {
  type BeforeApplicationShutdown,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { KeyedDrains, backoffDelay } from '@app/common';
import {
  SessionRegistry,
  WA_EVENTS,
  type WaReadKey,
  type WaSessionStatusEvent,
} from '@app/whatsapp';
import type { MessageRecord } from './message.types';
import { MessagesRepository } from './messages.repository';

/** Read receipts per engine call: one receipt stanza per chat and sender, of modest size. */
const BATCH = 500;
const SWEEP_INTERVAL_MS = 1_000;
/** A batch the engine refuses this often while connected is dropped: the receipts are best effort. */
export const MAX_RECEIPT_ATTEMPTS = 6;
const RETRY = { baseMs: 1_000, capMs: 60_000 };

/** Where a received message's read receipt goes: as WhatsApp addressed it, else as stored. */
export const readKeyOf = (m: MessageRecord): WaReadKey => {
  const participant = m.waAddress?.participant ?? m.participant;
  return {
    waMessageId: m.waMessageId!,
    remoteJid: m.waAddress?.remoteJid ?? m.chatJid,
    ...(participant ? { participant } : {}),
  };
};

/**
 * Sends the read receipts of messages marked read (`readReceiptPending`), from whichever instance
 * holds the session, once it is connected: marking a chat read is stored first and never waits for
 * WhatsApp, and a restart or a disconnection only delays the receipts. A receipt is cleared after
 * the engine took it, so a crash in between sends it again (WhatsApp ignores a repeated read).
 * A batch the engine refuses while connected is retried with backoff, then dropped with an error:
 * the chat stays read here, only the sender's blue ticks are lost.
 */
@Injectable()
export class ReadReceiptDispatcher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log = new Logger(ReadReceiptDispatcher.name);
  private readonly drains = new KeyedDrains(
    (sessionId) => this.drain(sessionId),
    (err, sessionId) => this.log.warn({ err, sessionId }, 'Read receipts not sent; will retry'),
  );
  /** Sessions whose last batch was refused: how often, and not before when to try again. */
  private readonly refusals = new Map<string, { attempts: number; retryAt: number }>();

  constructor(
    private readonly registry: SessionRegistry,
    private readonly messages: MessagesRepository,
  ) {}

  onApplicationBootstrap(): void {
    this.drains.sweepEvery(SWEEP_INTERVAL_MS, () => this.sweep());
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.drains.stop();
  }

  /** Receipts to send for a session: now if it is connected here (else the holder's sweep does). */
  kick(sessionId: string): void {
    if (this.registry.isConnected(sessionId)) this.drains.kick(sessionId);
  }

  @OnEvent(WA_EVENTS.sessionStatus, { async: true, suppressErrors: true })
  async onSessionStatus(event: WaSessionStatusEvent): Promise<void> {
    if (event.replayed) return; // a past change, announced late: not the session's state now
    if (event.status === 'connected') {
      this.refusals.delete(event.sessionId); // a new connection: a fresh start
      this.kick(event.sessionId);
    }
    // The link is gone: these receipts can never be sent.
    if (event.status === 'logged_out')
      await this.messages.clearPendingReceipts({ sessionId: event.sessionId });
  }

  /** Receipts marked on other instances, or left by a failure or a restart. */
  async sweep(): Promise<void> {
    if (this.drains.stopped) return;
    try {
      for (const sessionId of await this.messages.sessionsWithPendingReceipts())
        this.kick(sessionId);
    } catch (err) {
      this.log.warn({ err }, 'Read receipt sweep failed');
    }
  }

  /** Resolves once no drain of this session is running (tests). */
  idle(sessionId: string): Promise<void> {
    return this.drains.idle(sessionId);
  }

  private async drain(sessionId: string): Promise<void> {
    // Backing off after a refusal, whatever started this drain (a kick, the sweep, a rerun).
    if (Date.now() < (this.refusals.get(sessionId)?.retryAt ?? 0)) return;
    while (!this.drains.stopped && this.registry.isConnected(sessionId)) {
      const pending = await this.messages.pendingReceiptsOf(sessionId, BATCH);
      if (!pending.length) return;
      await this.send(sessionId, pending);
      await this.messages.clearPendingReceipts({ ids: pending.map((m) => m._id) });
      if (pending.length < BATCH) return;
    }
  }

  /** Hands a batch to the engine; returns normally also when the batch is given up (dropped). */
  private async send(sessionId: string, pending: MessageRecord[]): Promise<void> {
    try {
      await this.registry.markRead(sessionId, pending.map(readKeyOf));
      this.refusals.delete(sessionId);
    } catch (err) {
      // A lost connection is no refusal: the batch goes again once it is back.
      if (!this.registry.isConnected(sessionId)) throw err;
      const attempts = (this.refusals.get(sessionId)?.attempts ?? 0) + 1;
      if (attempts < MAX_RECEIPT_ATTEMPTS) {
        const delayMs = backoffDelay(attempts, RETRY);
        this.refusals.set(sessionId, { attempts, retryAt: Date.now() + delayMs });
        // Tried again when the backoff ends, not at the first sweep after it.
        this.drains.kickAfter(sessionId, delayMs);
        throw err;
      }
      this.refusals.delete(sessionId);
      this.log.error(
        { err, sessionId, count: pending.length, attempts },
        'Read receipts refused again and again; dropped (the messages stay read here)',
      );
    }
  }
}
