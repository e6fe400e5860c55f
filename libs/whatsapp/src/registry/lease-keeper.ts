import type { AuthWriteFence } from '../auth-state/wa-auth-store';
import type { LeaseGrant } from '../session-state/session-state';
import type { SessionStateStore } from '../session-state/session-state.store';

/**
 * Keeps this instance's session leases alive with ONE timer for all sessions
 * (renew every ttl/3); reports a session whose lease another instance took.
 */
export class LeaseKeeper {
  private readonly owned = new Set<string>();
  /** Each session's lease as last taken or renewed here (its token, its expiry). */
  private readonly grants = new Map<string, LeaseGrant>();
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

  /** The token of the lease taken (a new one at each take); undefined when another instance holds it. */
  async acquire(sessionId: string): Promise<string | undefined> {
    const grant = await this.store.acquireLease(sessionId, this.owner, this.ttlMs);
    if (grant) this.grants.set(sessionId, grant);
    return grant?.token;
  }

  /**
   * Whether the session's lease still is the one taken here (extended for the TTL if so), asked
   * before this instance does what only the holder may (a stop, logout or delete); false: another
   * instance took it, and it is reported lost.
   */
  confirm(sessionId: string): Promise<boolean> {
    return this.renew(sessionId);
  }

  /**
   * What the session's auth writes are fenced by: the lease taken here last, until another
   * instance takes the session (a renewal then finds it gone and reports it lost).
   */
  fence(sessionId: string): AuthWriteFence {
    return {
      held: () => {
        const grant = this.grants.get(sessionId);
        return grant && { epoch: grant.epoch, until: grant.expiresAt };
      },
      renew: () => this.renew(sessionId),
    };
  }

  track(sessionId: string): void {
    this.owned.add(sessionId);
    this.timer ??= setInterval(() => void this.renewAll(), Math.max(1, Math.floor(this.ttlMs / 3)));
    this.timer.unref?.();
  }

  untrack(sessionId: string): void {
    this.owned.delete(sessionId);
    this.grants.delete(sessionId);
    if (this.owned.size === 0) this.stopTimer();
  }

  /** Lets go of the lease taken under `token` (one taken since, here or elsewhere, stays). */
  async release(sessionId: string, token: string): Promise<void> {
    const grant = this.grants.get(sessionId);
    if (!grant || grant.token === token) this.untrack(sessionId);
    await this.store.releaseLease(sessionId, token);
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
    const asked = [...this.owned].flatMap((sessionId) => this.grants.get(sessionId) ?? []);
    let kept: LeaseGrant[];
    try {
      kept = await this.store.renewLeases(asked, this.owner, this.ttlMs);
    } catch (err) {
      // A database hiccup is not a takeover: keep running, retry next round.
      this.onError(err);
      return;
    }
    for (const grant of kept) {
      // Released while this renewal was in flight (a stop, a shutdown): the renewal must not
      // outlive it, or the next instance waits a whole TTL for the session.
      if (!this.owned.has(grant.sessionId))
        await this.store.releaseLease(grant.sessionId, grant.token).catch(this.onError);
      else this.renewed(grant);
    }
    const keptIds = new Set(kept.map((grant) => grant.sessionId));
    for (const grant of asked) if (!keptIds.has(grant.sessionId)) this.lost(grant);
  }

  /** Extends the session's lease if it still is the one taken here; reports it lost if not. */
  private async renew(sessionId: string): Promise<boolean> {
    const grant = this.grants.get(sessionId);
    if (!grant) return false;
    const [kept] = await this.store.renewLeases([grant], this.owner, this.ttlMs);
    if (kept) this.renewed(kept);
    else this.lost(grant);
    return !!kept;
  }

  private renewed(grant: LeaseGrant): void {
    if (this.grants.get(grant.sessionId)?.token === grant.token)
      this.grants.set(grant.sessionId, grant);
  }

  /** Another instance took the lease (not one taken here anew since the renewal was asked). */
  private lost({ sessionId, token }: LeaseGrant): void {
    if (this.grants.get(sessionId)?.token !== token) return;
    this.grants.delete(sessionId);
    if (this.owned.delete(sessionId)) this.onLost(sessionId);
  }
}
