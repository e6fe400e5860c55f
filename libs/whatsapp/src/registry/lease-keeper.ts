import type { SessionStateStore } from '../session-state/session-state.store';

/**
 * Keeps this instance's session leases alive with ONE timer for all sessions
 * (renew every ttl/3); reports a session whose lease another instance took.
 */
export class LeaseKeeper {
  private readonly owned = new Set<string>();
  private timer?: NodeJS.Timeout;
  private round?: Promise<void>;

  constructor(
    private readonly store: SessionStateStore,
    readonly owner: string,
    readonly ttlMs: number,
    private readonly onLost: (sessionId: string) => void,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** The sessions this instance holds. */
  held(): string[] {
    return [...this.owned];
  }

  acquire(sessionId: string): Promise<boolean> {
    return this.store.acquireLease(sessionId, this.owner, this.ttlMs);
  }

  track(sessionId: string): void {
    this.owned.add(sessionId);
    this.timer ??= setInterval(() => void this.renewAll(), Math.max(1, Math.floor(this.ttlMs / 3)));
    this.timer.unref?.();
  }

  untrack(sessionId: string): void {
    this.owned.delete(sessionId);
    if (this.owned.size === 0) this.stopTimer();
  }

  async release(sessionId: string): Promise<void> {
    this.untrack(sessionId);
    await this.store.releaseLease(sessionId, this.owner);
  }

  stopTimer(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Shutdown: no new round, and the one under way has finished (it renews nothing released). */
  async stop(): Promise<void> {
    this.stopTimer();
    await this.round;
  }

  renewAll(): Promise<void> {
    this.round ??= this.renewRound().finally(() => (this.round = undefined));
    return this.round;
  }

  /**
   * One bulk renewal for every held lease: a round costs one round trip, however many sessions,
   * and during an outage it waits out server selection once, not once per session in turn (later
   * leases would then expire on a healthy instance and move elsewhere).
   */
  private async renewRound(): Promise<void> {
    if (!this.owned.size) return;
    const asked = [...this.owned];
    let kept: Set<string>;
    try {
      kept = new Set(await this.store.renewLeases(asked, this.owner, this.ttlMs));
    } catch (err) {
      // A database hiccup is not a takeover: keep running, retry next round.
      this.onError(err);
      return;
    }
    for (const sessionId of kept) {
      // Released while this renewal was in flight (a stop, a shutdown): the renewal must not
      // outlive it, or the next instance waits a whole TTL for the session.
      if (!this.owned.has(sessionId))
        await this.store.releaseLease(sessionId, this.owner).catch(this.onError);
    }
    for (const sessionId of asked) {
      if (kept.has(sessionId) || !this.owned.has(sessionId)) continue;
      this.owned.delete(sessionId);
      this.onLost(sessionId);
    }
  }
}
