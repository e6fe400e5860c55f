import {
  type BeforeApplicationShutdown,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { MessageCreationService } from './message-creation.service';
import { MessageCreationsRepository } from './message-creations.repository';

/** A creation note older than this was cut off by a crash (a live one is closed in milliseconds). */
export const CREATION_GRACE_MS = 30_000;
const RECOVERY_INTERVAL_MS = 30_000;

/**
 * Replays the effects of message writes that a crash cut off (see MessageCreationService): at boot
 * and then periodically, so notes left by another, dead instance are picked up too. Each note is
 * leased while it is replayed.
 */
@Injectable()
export class MessageCreationRecovery implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log = new Logger(MessageCreationRecovery.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly creations: MessageCreationsRepository,
    private readonly creation: MessageCreationService,
  ) {}

  onApplicationBootstrap(): void {
    void this.recover();
    this.timer = setInterval(() => void this.recover(), RECOVERY_INTERVAL_MS);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass over the stale notes; resolves when it is done (also when one is running already). */
  recover(): Promise<void> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(): Promise<void> {
    try {
      while (!this.stopped) {
        const note = await this.creations.claimStale(
          new Date(Date.now() - CREATION_GRACE_MS),
          CREATION_GRACE_MS,
        );
        if (!note) return;
        const replayed = await this.creation.replay(note);
        this.log.warn(
          { sessionId: note.sessionId, noted: note.messageIds.length, replayed },
          'Replayed the effects of a message write cut off by a crash',
        );
      }
    } catch (err) {
      this.log.error({ err }, 'Message creation recovery failed; the next pass retries');
    }
  }
}
