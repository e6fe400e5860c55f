import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type BeforeApplicationShutdown,
} from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { backoffDelay, ConcurrencyLimit } from '@app/common';
import {
  MediaExceedsLimitError,
  SessionNotConnectedError,
  SessionRegistry,
  WA_EVENTS,
  type WaSessionStatusEvent,
} from '@app/whatsapp';
import { MEDIA_STORAGE, type MediaStorage } from './media/media-storage';
import { MEDIA_SIZE_LIMITS } from './media/media-limits';
import { MessagesRepository } from './messages.repository';
import type { MessageRecord } from './message.types';

const MAX_ATTEMPTS = 5;
const RETRY = { baseMs: 2_000, capMs: 60_000 };
const RESUME_BATCH = 200;
/** Downloads in flight at once per instance (each a connection to WhatsApp's media servers). */
const MAX_CONCURRENT_DOWNLOADS = 4;

/**
 * Downloads inbound media into MediaStorage. A failed download is retried with backoff and
 * recorded on the message; the message itself is never dropped. Pending downloads resume at boot,
 * and a session's when it connects: one that found no connection here counts no attempt.
 */
@Injectable()
export class MediaDownloadService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log = new Logger(MediaDownloadService.name);
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<string>();
  /** Downloads the database failed in a row (reading the message, recording the outcome). */
  private readonly databaseFailures = new Map<string, number>();
  private readonly slots = new ConcurrencyLimit(MAX_CONCURRENT_DOWNLOADS);
  private stopped = false;

  constructor(
    private readonly messages: MessagesRepository,
    private readonly registry: SessionRegistry,
    @Inject(MEDIA_STORAGE) private readonly storage: MediaStorage,
  ) {}

  /** Every download a previous run left pending (a page at a time; the slots pace them). */
  async onApplicationBootstrap(): Promise<void> {
    // Sessions are restored concurrently; give them a moment before retrying downloads.
    await this.resume(undefined, 5_000);
  }

  /**
   * A download needs its session's connection on this instance: those that found none (it was
   * reconnecting, being restored, or held by another instance) wait for it here.
   */
  @OnEvent(WA_EVENTS.sessionStatus, { async: true, suppressErrors: true })
  async onSessionStatus(event: WaSessionStatusEvent): Promise<void> {
    if (event.replayed) return;
    const { sessionId, sessionName } = event;
    try {
      if (event.status === 'connected') await this.resume(sessionId);
      // Logged out or deleted: its downloads never get a connection again.
      if (event.status === 'logged_out')
        await this.messages.failPendingDownloads(
          sessionId,
          `Session '${sessionName}' was logged out before the media was downloaded`,
        );
    } catch (err) {
      this.log.warn({ err, sessionId }, 'Could not resume or end the media downloads of a session');
    }
  }

  /** Schedules the pending downloads (of one session, or all), a page at a time. */
  private async resume(sessionId?: string, delayMs = 0): Promise<void> {
    let page: string[] = [];
    do {
      page = await this.messages.pendingMediaDownloads(RESUME_BATCH, page.at(-1), sessionId);
      for (const id of page) this.schedule(id, delayMs);
    } while (page.length === RESUME_BATCH && !this.stopped);
  }

  beforeApplicationShutdown(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
  }

  schedule(messageId: string, delayMs = 0): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.download(messageId);
    }, delayMs);
    timer.unref();
    this.timers.add(timer);
  }

  /**
   * Exposed for tests and the boot resume. Never rejects (a timer runs it, and a rejection there
   * would end the process): when the database fails, reading the message or recording the
   * outcome, the download is tried again later, up to MAX_ATTEMPTS times in a row.
   */
  async download(messageId: string): Promise<void> {
    if (this.inFlight.has(messageId)) return;
    this.inFlight.add(messageId);
    try {
      // A burst of media (offline queue, history sync) must not download all at once.
      await this.slots.run(async () => {
        const message = await this.messages.findById(messageId);
        if (!message?.media || message.media.downloadStatus !== 'pending') return;
        const ref = await this.messages.mediaRefOf(messageId);
        if (ref) await this.attempt(message, ref);
      });
      this.databaseFailures.delete(messageId);
    } catch (err) {
      this.retryAfterDatabaseFailure(messageId, err);
    } finally {
      this.inFlight.delete(messageId);
    }
  }

  private retryAfterDatabaseFailure(messageId: string, err: unknown): void {
    const failures = (this.databaseFailures.get(messageId) ?? 0) + 1;
    if (failures > MAX_ATTEMPTS) {
      this.databaseFailures.delete(messageId);
      this.log.error({ err, messageId }, 'Media download not recorded; the next boot resumes it');
      return;
    }
    this.databaseFailures.set(messageId, failures);
    this.log.warn({ err, messageId, failures }, 'Media download not recorded; will retry');
    this.schedule(messageId, backoffDelay(failures, RETRY));
  }

  private async attempt(message: MessageRecord, ref: Record<string, unknown>): Promise<void> {
    const attempts = (message.media!.downloadAttempts ?? 0) + 1;
    const limit =
      MEDIA_SIZE_LIMITS[message.type as keyof typeof MEDIA_SIZE_LIMITS] ??
      MEDIA_SIZE_LIMITS.document;
    // The size the sender declared is checked first; the download itself stops at the limit too.
    const declared = message.media!.size;
    if (declared !== undefined && declared > limit)
      return this.refuse(message, attempts, `Media is ${declared} bytes; the limit is ${limit}`);
    try {
      const download = await this.registry.downloadMedia(message.sessionId, ref, limit);
      const size = await this.storage.put(message._id, download);
      await this.messages.setFields(
        { _id: message._id },
        {
          'media.downloadStatus': 'stored',
          'media.storageKey': message._id,
          'media.size': size,
          'media.downloadAttempts': attempts,
        },
        { mediaRef: 1, 'media.downloadError': 1 },
      );
    } catch (error) {
      // Not an attempt: resumed when the session connects (onSessionStatus).
      if (error instanceof SessionNotConnectedError) return;
      const reason = (error as Error).message ?? String(error);
      if (error instanceof MediaExceedsLimitError) return this.refuse(message, attempts, reason);
      const final = attempts >= MAX_ATTEMPTS;
      await this.record(message._id, {
        'media.downloadAttempts': attempts,
        'media.downloadError': reason,
        ...(final ? { 'media.downloadStatus': 'failed' } : {}),
      });
      if (!final) this.schedule(message._id, backoffDelay(attempts, RETRY));
      this.log.warn(
        { messageId: message._id, attempts, reason },
        final ? 'Media download failed for good' : 'Media download failed; will retry',
      );
    }
  }

  /** Too large: failed at once, as a retry would be too. */
  private async refuse(message: MessageRecord, attempts: number, reason: string): Promise<void> {
    await this.record(message._id, {
      'media.downloadStatus': 'failed',
      'media.downloadError': reason,
      'media.downloadAttempts': attempts,
    });
    this.log.warn({ messageId: message._id, reason }, 'Media not downloaded: too large');
  }

  private record(id: string, set: Record<string, unknown>): Promise<void> {
    return this.messages.setFields({ _id: id }, set);
  }
}
