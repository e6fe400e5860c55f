import { Logger } from '@nestjs/common';
import type { EventEmitter2 } from '@nestjs/event-emitter';
import type { WaEventPayloads } from '../events';

/**
 * Typed emit onto EventEmitter2; a throwing subscriber never breaks the session. Resolves when every
 * subscriber is done, so a caller that awaits it (status changes) knows e.g. the event outbox has it.
 */
export class WaEventPublisher {
  private readonly logger = new Logger('WaEventPublisher');

  constructor(private readonly emitter: EventEmitter2) {}

  async publish<K extends keyof WaEventPayloads>(
    name: K,
    payload: WaEventPayloads[K],
  ): Promise<void> {
    try {
      await this.publishOrThrow(name, payload);
    } catch (err) {
      this.logger.error(
        `Subscriber of ${name} failed: ${(err as Error).message}`,
        (err as Error).stack,
      );
    }
  }

  /**
   * As `publish`, but a subscriber's failure is thrown: for announcements noted until every
   * subscriber recorded them (the note is kept, and replayed, when one failed).
   */
  async publishOrThrow<K extends keyof WaEventPayloads>(
    name: K,
    payload: WaEventPayloads[K],
  ): Promise<void> {
    await this.emitter.emitAsync(name, payload);
  }
}
