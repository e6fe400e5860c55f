import type { WaAuthStoreProvider } from '../auth-state/wa-auth-store';
import { SessionLeasedElsewhereError } from '../errors';
import type { WaSessionState } from '../session-state/session-state';
import type { SessionStateStore } from '../session-state/session-state.store';
import { runBounded } from './run-bounded';
import type { StatusHolder } from './session-handle';
import type { StatusWriter } from './status-writer';

export interface RestoreSummary {
  restored: string[];
  failed: string[];
  skipped: string[];
}

export interface RestoreDeps {
  store: SessionStateStore;
  authStores: WaAuthStoreProvider;
  status: StatusWriter;
  concurrency: number;
  start(sessionId: string): Promise<void>;
  /** Runs `work` under the session's lock (the one start, stop and logout take). */
  exclusive<T>(sessionId: string, work: () => Promise<T>): Promise<T>;
  isLive(sessionId: string): boolean;
  /**
   * Takes the session's lease for this instance, judged by the database's clock (LeaseKeeper): a
   * lease that reads run out by this instance's clock may not be (clocks disagree). Its token
   * (status writes are fenced by it); undefined when refused.
   */
  acquireLease(sessionId: string): Promise<string | undefined>;
  /** Lets go of the lease taken under `token` (LeaseKeeper.release). */
  releaseLease(sessionId: string, token: string): Promise<void>;
  /** Whether the organization's sessions may run now (see WhatsAppOptions.mayRun). */
  mayRun(organizationId: string): Promise<boolean>;
  /** Stops a session started here while its organization may not run (SessionRegistry.stopWhileBarred). */
  stopWhileBarred(sessionId: string, reason: string): Promise<void>;
  onError(what: string, err: unknown): void;
}

/** Why a session of an organization that may not run sessions stays stopped. */
export const NOT_ALLOWED_TO_RUN = 'Stopped: this organization may not run WhatsApp sessions now';

/** Status writes at boot are small and independent: more of them in flight than session starts. */
const MARK_CONCURRENCY = 32;

/** The session as a status holder under the lease just taken (its writes land only under it). */
const holderOf = (doc: WaSessionState, leaseToken: string): StatusHolder => ({
  ref: {
    sessionId: doc.sessionId,
    organizationId: doc.organizationId,
    sessionName: doc.sessionName,
  },
  status: doc.status,
  initial: !!doc.initialStatus,
  leaseToken,
});

/**
 * The sessions a restore may start: not logged out (unlinked) and not stopped until a user asks
 * (connection replaced by another client, its number banned): those stay as they are, status and
 * reason included, until `GET …/qr` or `POST …/restart`. The marker holds only with the
 * `disconnected` or `failed` status it was written with: a version that does not know it (a
 * rollback) starts such a session again without clearing it, and the `connected`/`connecting`
 * that version leaves must be restored.
 */
const restorable = (doc: WaSessionState) =>
  doc.status !== 'logged_out' &&
  !(doc.stoppedUntilAsked && (doc.status === 'disconnected' || doc.status === 'failed'));

/** Boot-time restore: every linked session not logged out or stopped until asked is started; one broken session never stops the rest. */
export class SessionRestorer {
  private stopped = false;

  constructor(private readonly deps: RestoreDeps) {}

  /** Shutting down: sessions not started yet are left for the next boot (or another instance). */
  stop(): void {
    this.stopped = true;
  }

  async restoreAll(): Promise<RestoreSummary> {
    return this.startAll(await this.prepare());
  }

  /**
   * The sessions to restore. Those a previous process left `connected` (and no live instance
   * holds: the lease taken below says, by the database's clock) are marked `connecting` first, so
   * the API, which answers while they come back, never shows a session as connected before it is.
   */
  async prepare(): Promise<WaSessionState[]> {
    const docs = (await this.deps.store.listByStatusNotIn(['logged_out'])).filter(restorable);
    const left = docs.filter((doc) => doc.status === 'connected');
    // Those of an organization that may not run are not marked: checkStartable settles them.
    const allowed = await this.allowedOrganizations(left);
    const stale = left.filter((doc) => allowed.has(doc.organizationId));
    await runBounded(stale, MARK_CONCURRENCY, async (doc) => {
      try {
        // Taken for the restore that follows; refused, another instance runs it connected.
        const leaseToken = await this.deps.acquireLease(doc.sessionId);
        if (!leaseToken) return;
        if (await this.deps.status.set(holderOf(doc, leaseToken), 'connecting'))
          doc.status = 'connecting';
      } catch (err) {
        this.deps.onError(`Marking ${doc.sessionId} as reconnecting failed`, err);
      }
    });
    return docs;
  }

  private async allowedOrganizations(docs: WaSessionState[]): Promise<Set<string>> {
    const orgs = [...new Set(docs.map((d) => d.organizationId))];
    // An unanswered question marks nothing here: each session is asked again before its start.
    const verdicts = await Promise.all(orgs.map((org) => this.deps.mayRun(org).catch(() => true)));
    return new Set(orgs.filter((_, i) => verdicts[i]));
  }

  /** Starts the prepared sessions, a few at a time; one broken session never stops the rest. */
  async startAll(docs: WaSessionState[]): Promise<RestoreSummary> {
    const summary: RestoreSummary = { restored: [], failed: [], skipped: [] };
    await runBounded(docs, this.deps.concurrency, async (doc) => {
      if (this.stopped) return void summary.skipped.push(doc.sessionId);
      try {
        summary[await this.restoreOne(doc)].push(doc.sessionId);
      } catch (err) {
        summary.failed.push(doc.sessionId);
        this.deps.onError(`Restore of ${doc.sessionId} failed`, err);
      }
    });
    return summary;
  }

  /**
   * Sessions that were running on an instance that died: still `connected`/`connecting`/`qr_ready`
   * in the database, or `disconnected` between two reconnect attempts (which keep the lease; a
   * stop lets it go), but their lease has expired. Another instance picks them up: a linked one is
   * started, an unlinked one (its QR died with the instance) settles `disconnected`. Expired by the
   * database's clock: this instance's may be off.
   */
  async adoptOrphans(): Promise<string[]> {
    const docs = await this.deps.store.listUnleasedByStatusNotIn(['logged_out', 'failed']);
    const orphans = docs
      .filter(restorable)
      .filter((doc) => doc.status !== 'disconnected' || !!doc.lease)
      .filter((doc) => !this.deps.isLive(doc.sessionId));
    const adopted: string[] = [];
    await runBounded(orphans, this.deps.concurrency, async (doc) => {
      if (this.stopped) return;
      try {
        if ((await this.restoreOne(doc)) === 'restored') adopted.push(doc.sessionId);
      } catch (err) {
        this.deps.onError(`Adopting ${doc.sessionId} failed`, err);
      }
    });
    return adopted;
  }

  private async restoreOne(listed: WaSessionState): Promise<keyof RestoreSummary> {
    // The API answers while the restore runs: a session may have been started, logged out or
    // deleted since it was listed. Decide on its current state, under its lock.
    const verdict = await this.deps.exclusive(listed.sessionId, () => this.checkStartable(listed));
    if (verdict !== 'start') return verdict;
    try {
      await this.deps.start(listed.sessionId);
    } catch (err) {
      if (err instanceof SessionLeasedElsewhereError) return 'skipped';
      throw err;
    }
    // start() marks a session with an unreadable auth state `failed` instead of throwing
    if (!this.deps.isLive(listed.sessionId)) return 'failed';
    // Barred between the check and the start (a switch handled on another instance found nothing
    // to stop then): the session follows mayRun as it is now that it runs.
    if (await this.deps.mayRun(listed.organizationId).catch(() => true)) return 'restored';
    await this.deps.stopWhileBarred(listed.sessionId, NOT_ALLOWED_TO_RUN);
    return this.deps.isLive(listed.sessionId) ? 'restored' : 'skipped';
  }

  /** Whether a listed session should be started now; settles the ones that should not. */
  private async checkStartable(listed: WaSessionState): Promise<keyof RestoreSummary | 'start'> {
    const { authStores, status } = this.deps;
    const doc = await this.deps.store.findBySessionId(listed.sessionId);
    if (!doc || !restorable(doc) || this.deps.isLive(doc.sessionId)) return 'skipped';
    // Held by a live instance (refused by the database's clock): what it shows (a QR,
    // `connected`) is its to write, not ours.
    const leaseToken = await this.deps.acquireLease(doc.sessionId);
    if (!leaseToken) return 'skipped';
    const holder = holderOf(doc, leaseToken);
    // What is settled here is written under the lease, and only then is the lease let go: an
    // instance that finds the session free never has its own start overwritten.
    const release = () => this.deps.releaseLease(doc.sessionId, leaseToken);
    if (!(await this.deps.mayRun(doc.organizationId))) {
      // Only one a previous process left running is settled; a stopped or failed one keeps its
      // status and reason (the module switch said why it stopped).
      // (A stop marker it still carries is stale, see `restorable`: written with this
      // `disconnected`, it would keep the session down once the organization may run again.)
      if (doc.status !== 'disconnected' && doc.status !== 'failed')
        await status.set(holder, 'disconnected', {
          qr: null,
          qrExpiresAt: null,
          lastError: NOT_ALLOWED_TO_RUN,
          stoppedUntilAsked: null,
        });
      await release();
      return 'skipped';
    }
    let linked: boolean;
    try {
      linked = await authStores.forSession(doc.sessionId).hasCreds();
    } catch (err) {
      await status.set(holder, 'failed', {
        lastError: `Auth state is unreadable: ${(err as Error).message}`,
        stoppedUntilAsked: null, // stale (see `restorable`): the next boot tries it again
      });
      await release();
      return 'failed';
    }
    if (!linked) {
      await authStores.release(doc.sessionId);
      // A QR/connecting state left by a previous process is stale now.
      if (doc.status !== 'disconnected' && doc.status !== 'failed')
        await status.set(holder, 'disconnected', {
          qr: null,
          qrExpiresAt: null,
          stoppedUntilAsked: null,
        });
      // A lease this id still has from before a crash would keep others waiting on a holder that
      // runs nothing.
      await release();
      return 'skipped';
    }
    return 'start';
  }
}
