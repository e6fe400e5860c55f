import { EventEmitter } from 'node:events';
import { WA_EVENTS } from '../events';
import type {
  WaSessionPatch,
  WaSessionState,
  WaSessionStatus,
  WaStatusAnnouncement,
} from '../session-state/session-state';
import type { SessionStateStore } from '../session-state/session-state.store';
import type { WaEventPublisher } from './event-publisher';
import type { StatusHolder } from './session-handle';

/**
 * Persists a status change (with its timestamp) and only then announces it. The write notes the
 * change as `announcing` until the announcement ran, so one a crash cut off in between is
 * announced later (`announceMissed`) instead of lost. A session's changes are dated one after
 * the other, a millisecond apart when the clock has not moved on: the time identifies the change
 * (its announcement note, the event's source key), so two in one millisecond stay two.
 */
export class StatusWriter {
  private readonly signals = new EventEmitter().setMaxListeners(0);
  /** The time of the last change written per session (dropped once the session is gone). */
  private readonly lastChangeAt = new Map<string, number>();

  constructor(
    private readonly store: SessionStateStore,
    private readonly publisher: WaEventPublisher,
    /** A write was refused: another instance took the session since (or it is gone). */
    private readonly onLeaseLost: (holder: StatusHolder) => void = () => undefined,
  ) {}

  /** False when nothing was written: the session is gone, or another instance took it since. */
  async set(
    holder: StatusHolder,
    status: WaSessionStatus,
    patch: WaSessionPatch = {},
  ): Promise<boolean> {
    // The status a session is created with is never announced: its first change has no previous one.
    const previousStatus = holder.initial ? null : holder.status;
    const changed = previousStatus !== status;
    const at = changed ? this.changeTime(holder.ref.sessionId) : new Date();
    const doc = await this.store.update(
      holder.ref.sessionId,
      {
        ...patch,
        status,
        ...(changed
          ? { statusChangedAt: at, announcing: { status, previousStatus, at }, initialStatus: null }
          : {}),
        // Every logout, also one of a session that was logged out already: a send accepted as
        // it ran is of the link before it.
        ...(status === 'logged_out' ? { loggedOutAt: at } : {}),
      },
      holder.leaseToken,
    );
    holder.status = status;
    holder.initial = false;
    if (!doc) {
      // Deleted meanwhile, or taken over while this instance stalled: nothing to announce.
      this.lastChangeAt.delete(holder.ref.sessionId);
      this.onLeaseLost(holder);
      return false;
    }
    this.signals.emit(holder.ref.sessionId, status);
    if (changed) await this.announce(doc, { status, previousStatus, at });
    return true;
  }

  /** Now, or a millisecond after the session's last change when that was dated now or later. */
  private changeTime(sessionId: string): Date {
    const at = Math.max(Date.now(), (this.lastChangeAt.get(sessionId) ?? 0) + 1);
    this.lastChangeAt.set(sessionId, at);
    return new Date(at);
  }

  /**
   * Announces the status changes whose announcement a crash cut off (noted before `before`), late
   * and marked `replayed`. Subscribers that record them drop repeats by the change's time.
   */
  async announceMissed(before: Date): Promise<number> {
    const missed = await this.store.listUnannounced(before);
    for (const doc of missed) if (doc.announcing) await this.announce(doc, doc.announcing, true);
    return missed.length;
  }

  private async announce(
    doc: WaSessionState,
    change: WaStatusAnnouncement,
    replayed = false,
  ): Promise<void> {
    const { sessionId, organizationId, sessionName } = doc;
    // Awaited: subscribers (e.g. the event outbox) have recorded the change before we go on.
    await this.publisher.publish(WA_EVENTS.sessionStatus, {
      sessionId,
      organizationId,
      sessionName,
      status: change.status,
      previousStatus: change.previousStatus,
      ...(doc.lastError ? { lastError: doc.lastError } : {}),
      ...(change.status === 'connected' ? { phone: doc.phone, jid: doc.jid } : {}),
      at: change.at,
      ...(replayed ? { replayed } : {}),
    });
    await this.store.clearAnnouncement(sessionId, change.at);
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
