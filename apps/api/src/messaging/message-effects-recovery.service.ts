import {
  type BeforeApplicationShutdown,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { PeriodicPass } from '@app/common';
import { MessageCreationService } from './message-creation.service';
import { EFFECTS_GRACE_MS, MessageCreationsRepository } from './message-creations.repository';
import { MessageStatusService } from './message-status.service';
import { MessagesRepository } from './messages.repository';

const RECOVERY_INTERVAL_MS = 30_000;

/**
 * Replays the effects of message writes that a crash cut off: those of first stores (creation
 * notes, see MessageCreationService) and those of status changes (`statusEffectsAt`, see
 * MessageStatusService). At boot and then periodically, so what another, dead instance left is
 * picked up too; each note is claimed while it is replayed.
 */
@Injectable()
export class MessageEffectsRecovery implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log = new Logger(MessageEffectsRecovery.name);
  private readonly passes = new PeriodicPass(() => this.pass(), RECOVERY_INTERVAL_MS);

  constructor(
    private readonly creations: MessageCreationsRepository,
    private readonly creation: MessageCreationService,
    private readonly messages: MessagesRepository,
    private readonly status: MessageStatusService,
  ) {}

  onApplicationBootstrap(): void {
    this.passes.start();
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.passes.stop();
  }

  /** One pass over the stale notes; resolves when it is done (also when one is running already). */
  recover(): Promise<void> {
    return this.passes.run();
  }

  private async pass(): Promise<void> {
    try {
      await this.replayCreations();
      await this.replayStatusChanges();
    } catch (err) {
      this.log.error({ err }, 'Message effects recovery failed; the next pass retries');
    }
  }

  private async replayCreations(): Promise<void> {
    while (!this.passes.stopped) {
      const note = await this.creations.claimStale(
        new Date(Date.now() - EFFECTS_GRACE_MS),
        EFFECTS_GRACE_MS,
      );
      if (!note) return;
      try {
        const replayed = await this.creation.replay(note);
        this.log.warn(
          { sessionId: note.sessionId, noted: note.messageIds.length, replayed },
          'Replayed the effects of a message write cut off by a crash',
        );
      } catch (err) {
        // Leased: this pass moves on to the next note, a later pass takes this one again.
        this.log.error(
          { err, sessionId: note.sessionId, noted: note.messageIds.length },
          "A message write's effects failed again; the next pass retries",
        );
      }
    }
  }

  private async replayStatusChanges(): Promise<void> {
    while (!this.passes.stopped) {
      const message = await this.messages.claimStaleStatusEffects(
        new Date(Date.now() - EFFECTS_GRACE_MS),
      );
      if (!message) return;
      const fields = {
        sessionId: message.sessionId,
        messageId: message._id,
        status: message.status,
      };
      try {
        await this.status.replayEffects(message);
        this.log.warn(fields, 'Replayed the effects of a status change cut off by a crash');
      } catch (err) {
        // Claimed anew (statusEffectsAt is now): a pass after the grace period takes it again.
        this.log.error(
          { err, ...fields },
          "A status change's effects failed again; the next pass retries",
        );
      }
    }
  }
}
