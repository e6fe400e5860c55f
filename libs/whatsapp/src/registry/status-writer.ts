import { EventEmitter } from 'node:events';
import { WA_EVENTS } from '../events';
import type { WaSessionPatch, WaSessionStatus } from '../session-state/session-state';
import type { SessionStateStore } from '../session-state/session-state.store';
import type { WaEventPublisher } from './event-publisher';
import type { StatusHolder } from './session-handle';

/** Persists a status change (with its timestamp) and only then announces it. */
export class StatusWriter {
  private readonly signals = new EventEmitter().setMaxListeners(0);

  constructor(
    private readonly store: SessionStateStore,
    private readonly publisher: WaEventPublisher,
  ) {}

  async set(
    holder: StatusHolder,
    status: WaSessionStatus,
    patch: WaSessionPatch = {},
  ): Promise<void> {
    const previousStatus = holder.status;
    const at = new Date();
    const changed = previousStatus !== status;
    const doc = await this.store.update(holder.ref.sessionId, {
      ...patch,
      status,
      ...(changed ? { statusChangedAt: at } : {}),
    });
    holder.status = status;
    if (!doc) return; // deleted meanwhile: nothing to announce
    this.signals.emit(holder.ref.sessionId, status);
    if (!changed) return;
    // Awaited: subscribers (e.g. the event outbox) have recorded the change before we go on.
    await this.publisher.publish(WA_EVENTS.sessionStatus, {
      ...holder.ref,
      status,
      previousStatus,
      ...(doc.lastError ? { lastError: doc.lastError } : {}),
      ...(status === 'connected' ? { phone: doc.phone, jid: doc.jid } : {}),
      at,
    });
  }

  /** Resolves with the first status (current included) that `accept`s, or undefined after `timeoutMs`. */
  waitFor(
    sessionId: string,
    current: WaSessionStatus | undefined,
    accept: (s: WaSessionStatus) => boolean,
    timeoutMs: number,
  ) {
    if (current && accept(current)) return Promise.resolve<WaSessionStatus | undefined>(current);
    return new Promise<WaSessionStatus | undefined>((resolve) => {
      const finish = (status: WaSessionStatus | undefined) => {
        clearTimeout(timer);
        this.signals.off(sessionId, onStatus);
        resolve(status);
      };
      const onStatus = (status: WaSessionStatus) => accept(status) && finish(status);
      const timer = setTimeout(() => finish(undefined), timeoutMs);
      this.signals.on(sessionId, onStatus);
    });
  }
}
