import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
  type BeforeApplicationShutdown,
} from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import pino from 'pino';
import {
  backoffDelay,
  isTransientDatabaseError,
  KeyedMutex,
  OUTAGE_BACKOFF,
  within,
} from '@app/common';
import {
  AuthWritesFencedError,
  WA_AUTH_STORE_PROVIDER,
  type WaAuthStoreProvider,
} from '../auth-state/wa-auth-store';
import type { MediaRef } from '../engine/inbound-message';
import type { OutboundContent, SendResult } from '../engine/outbound-content';
import {
  WA_ENGINE_FACTORY,
  type WaConnection,
  type WaEngineFactory,
  type WaReadKey,
} from '../engine/wa-connection';
import type { WaLogger } from '../engine/wa-logger';
import {
  InstanceShuttingDownError,
  QrNotAvailableError,
  SessionAlreadyConnectedError,
  SessionLeasedElsewhereError,
  SessionNotConnectedError,
  SessionNotFoundError,
} from '../errors';
import type { HolderRequest } from '../session-state/holder-request';
import type {
  WaSessionDeletionNote,
  WaSessionState,
  WaSessionStatus,
} from '../session-state/session-state';
import { SESSION_STATE_STORE, type SessionStateStore } from '../session-state/session-state.store';
import { WHATSAPP_OPTIONS, type WhatsAppOptions } from '../whatsapp.options';
import { WaEventPublisher } from './event-publisher';
import { HolderRelay } from './holder-relay';
import { LeaseKeeper } from './lease-keeper';
import { SessionEventHandler } from './session-event-handler';
import { SessionRestorer, type RestoreSummary } from './session-restorer';
import { SessionHandle, type StatusHolder } from './session-handle';
import { SessionDeletions } from './session-deletions';
import { StatusWriter } from './status-writer';

export type { RestoreSummary };

export interface QrView {
  /** PNG data URL. */
  qr: string;
  status: WaSessionStatus;
  expiresAt?: Date;
  /**
   * This call started the session (here, or on the instance holding it): it was not running.
   * Whoever checks that the session may run after a request checks only then (a poll of a
   * running session started nothing a switch-off could have missed).
   */
  started?: boolean;
}

/** How long one logout on WhatsApp may take. */
const LOGOUT_TIMEOUT_MS = 10_000;
/**
 * How long a logout may spend getting a live connection to unlink through: connecting a linked
 * session that is not connected, and connecting again when a logout fails because the connection
 * dropped. No new attempt starts past it.
 */
const LOGOUT_CONNECT_TIMEOUT_MS = 10_000;
/** Pause before connecting again for a logout, so a connection refused at once does not spin. */
const LOGOUT_RETRY_PAUSE_MS = 250;
const notConnecting = (s: WaSessionStatus) => s !== 'connecting';
/** lastError of a session whose instance shut down: linked, it reads `connecting` meanwhile. */
const STOPPED_HOLDER_LINKED =
  'The instance holding this session stopped; it reconnects when an instance picks it up';
/** lastError of an unlinked session whose instance shut down (its QR went with it): `disconnected`. */
const STOPPED_HOLDER_UNLINKED =
  'The instance holding this session stopped before it was linked; request a new QR code';
const messageOf = (err: unknown) => (err as Error)?.message ?? String(err);

/**
 * The only owner of live WhatsApp connections (Map<sessionId, handle>).
 * Public methods are keyed by sessionId and serialised per session; the app
 * does the organization scoping before calling in.
 */
@Injectable()
export class SessionRegistry
  implements OnApplicationBootstrap, OnModuleDestroy, BeforeApplicationShutdown
{
  readonly instanceId: string;
  private readonly log = new Logger(SessionRegistry.name);
  private readonly handles = new Map<string, SessionHandle>();
  private readonly pairingCodes = new WeakMap<
    WaConnection,
    { phone: string; code: Promise<string> }
  >();
  private readonly locks = new KeyedMutex();
  /**
   * Sessions being logged out (or deleted) or stopped here. Their connection serves nobody else
   * from the moment the lock is taken: a logout may connect a session only to unlink the device,
   * and what was queued for it (sends, read receipts) must not go out through that connection
   * before the `logged_out` status fails or drops it. Local: the instance that carries the logout
   * out (the holder, when relayed) is the one whose connection it is.
   */
  private readonly ending = new Set<string>();
  private readonly status: StatusWriter;
  private readonly leases: LeaseKeeper;
  private readonly relay: HolderRelay;
  private readonly events: SessionEventHandler;
  private readonly deletions: SessionDeletions;
  private readonly rootLogger: WaLogger;
  private readonly restorer: SessionRestorer;
  private adoptTimer?: NodeJS.Timeout;
  private restoring?: Promise<void>;
  private readonly mayRun: (organizationId: string) => Promise<boolean>;
  /** Set once the shutdown closes the sessions: nothing starts a connection after that. */
  private closed = false;
  /** A second live process under this INSTANCE_ID was reported (once: see reportSharedInstanceId). */
  private sharedIdReported = false;

  constructor(
    @Inject(WA_ENGINE_FACTORY) private readonly engine: WaEngineFactory,
    @Inject(SESSION_STATE_STORE) private readonly store: SessionStateStore,
    @Inject(WA_AUTH_STORE_PROVIDER) private readonly authStores: WaAuthStoreProvider,
    @Inject(WHATSAPP_OPTIONS) private readonly options: WhatsAppOptions,
    emitter: EventEmitter2,
  ) {
    this.instanceId = options.instanceId ?? `wa-${randomUUID()}`;
    this.rootLogger = options.logger ?? (pino({ level: 'warn' }) as unknown as WaLogger);
    this.mayRun = options.mayRun ?? (() => Promise.resolve(true));
    const publisher = new WaEventPublisher(emitter);
    this.status = new StatusWriter(store, publisher, (holder) =>
      this.onLeaseLost(holder.ref.sessionId, holder),
    );
    this.deletions = new SessionDeletions(
      store,
      publisher,
      (what, err) => this.logError(what, err),
      // A delete holds the session's lease: one noted that long ago has ended, or its instance died.
      options.leaseTtlMs,
    );
    this.leases = new LeaseKeeper(
      store,
      this.instanceId,
      options.leaseTtlMs,
      (id) => this.onLeaseLost(id),
      (err) => this.logError('Lease renewal failed', err),
    );
    this.relay = new HolderRelay(
      store,
      {
        instanceId: this.instanceId,
        pollMs: options.holderPollMs,
        answerTimeoutMs: options.holderAnswerTimeoutMs,
      },
      () => {
        const sessionIds = this.leases.held();
        return { sessionIds, connected: sessionIds.filter((id) => this.isConnected(id)) };
      },
      (sessionId, request) => this.carryOut(sessionId, request),
      (message, err) => this.logError(message, err),
    );
    this.events = new SessionEventHandler(
      this.status,
      publisher,
      options,
      {
        reconnect: (handle, delayMs) => this.scheduleReconnect(handle, delayMs),
        retire: (handle, release) => this.retire(handle, release),
      },
      this.log,
    );
    this.restorer = new SessionRestorer({
      store,
      authStores,
      status: this.status,
      concurrency: options.restoreConcurrency,
      start: (id) => this.start(id),
      exclusive: (id, work) => this.locks.run(id, work),
      isLive: (id) => this.handles.has(id),
      acquireLease: (id) => this.leases.acquire(id),
      releaseLease: (id, token) => this.leases.release(id, token),
      mayRun: this.mayRun,
      stopWhileBarred: (id, reason) => this.stopWhileBarred(id, reason),
      onError: (what, err) => this.logError(what, err),
    });
  }

  /**
   * Restores the linked sessions in the background: the API listens as soon as their statuses
   * read `connecting`, and sessions come back one by one, so hundreds of sessions never
   * hold the HTTP port, the health check or the other modules' start for minutes.
   */
  async onApplicationBootstrap(): Promise<void> {
    if (this.options.restoreOnBoot === false) return;
    // Before the restore writes new statuses over them: what a crash left unannounced.
    await this.announceMissed(new Date());
    const started = Date.now();
    const docs = await this.restorer.prepare(); // quick: stale `connected` statuses read `connecting`
    this.restoring = this.restorer
      .startAll(docs)
      .then((summary) => {
        this.log.log(
          `Restored ${summary.restored.length} WhatsApp sessions in ${Date.now() - started} ms (${summary.failed.length} failed, ${summary.skipped.length} skipped)`,
        );
        // Sessions of a crashed peer instance come back here once their lease expires (a shutdown
        // waits for the restore, then clears this timer).
        this.adoptTimer = setInterval(() => {
          void this.announceMissed(new Date(Date.now() - this.options.leaseTtlMs));
          void this.adoptOrphans();
        }, this.options.leaseTtlMs);
        this.adoptTimer.unref();
      })
      .catch((err) => this.logError('Restoring sessions failed', err))
      .finally(() => (this.restoring = undefined));
  }

  /** Whether the boot restore is still starting sessions. */
  get isRestoring(): boolean {
    return this.restoring !== undefined;
  }

  /**
   * Nest destroys modules before any runs its beforeApplicationShutdown, some of which wait (the
   * event outbox drains): the restore stops starting sessions now, not only when our turn comes.
   */
  onModuleDestroy(): void {
    this.restorer.stop();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.restorer.stop();
    // Sessions the restore is starting right now finish starting, so they are closed below.
    await this.restoring;
    // Requests still being answered must not open a connection (and take a lease) after the
    // sessions below were closed: nobody would renew that lease or close that connection.
    this.closed = true;
    clearInterval(this.adoptTimer);
    await this.relay.stop();
    await this.leases.stop();
    // Close without logout: the link stays valid and the next boot (or another instance) restores
    // it. All at once: each is a close and a few small writes, and there may be hundreds.
    await Promise.all(
      [...this.handles.values()].map((h) =>
        this.locks
          .run(h.sessionId, () => this.closeAtShutdown(h))
          .catch((err) => this.logError('Shutdown close failed', err)),
      ),
    );
    await this.authStores.flushAll();
  }

  /**
   * Closes a session for the shutdown and records what it is now, while still holding its lease
   * (which goes last, as in a stop): nothing would correct a `connected` or `qr_ready` left behind
   * until another instance adopts the session, or, on a single instance, the next boot. A linked
   * session reads `connecting` (adopted, or restored at the next boot, without a new scan); an
   * unlinked one, whose QR dies with this process, reads `disconnected` (as adoption would settle
   * it). The change is announced like any other. Caller holds the session lock.
   */
  private async closeAtShutdown(handle: SessionHandle): Promise<void> {
    await this.closeHandle(handle);
    // A close handled as the shutdown began settled the session already and let its lease go.
    if (this.handles.get(handle.sessionId) !== handle) return;
    try {
      const linked =
        handle.status !== 'qr_ready' && (await handle.auth.hasCreds().catch(() => true));
      await this.status.set(handle, linked ? 'connecting' : 'disconnected', {
        qr: null,
        qrExpiresAt: null,
        lastError: linked ? STOPPED_HOLDER_LINKED : STOPPED_HOLDER_UNLINKED,
      });
    } catch (err) {
      this.logError(`Recording the shutdown of ${handle.sessionId} failed`, err);
    }
    await this.retire(handle, true);
  }

  // ---- lifecycle --------------------------------------------------------------

  /** Opens the session's connection (QR flow when unlinked). No-op when already live here. */
  start(sessionId: string): Promise<void> {
    return this.locks.run(sessionId, () => this.startLocked(sessionId));
  }

  /**
   * Closes the connection, keeps the link; status `disconnected` (with `reason` as its lastError).
   * Here, or by the instance holding the session. Not started again until asked (or restored).
   */
  stop(sessionId: string, reason?: string): Promise<void> {
    return this.locks.run(sessionId, () =>
      this.hereOrHolder(sessionId, { kind: 'stop', ...(reason ? { reason } : {}) }, async () => {
        const handle = await this.currentHandle(sessionId);
        if (handle) await this.stopLocked(handle, reason);
      }),
    );
  }

  /**
   * Stops the session while its organization may not run (WhatsAppOptions.mayRun), wherever it
   * runs (relayed to the holder like stop). The opposite switch may be handled meanwhile on
   * another instance, whose restore skips a session still held here; so the instance running it
   * reads mayRun right before the stop (allowed again: it keeps running) and again once it has
   * stopped (allowed again meanwhile: it is restored), and a restore reads it again after the
   * start: the session follows what mayRun says after the last action, not what the switch said.
   */
  stopWhileBarred(sessionId: string, reason: string): Promise<void> {
    const request: HolderRequest = { kind: 'stop', reason, whileBarred: true };
    return this.hereOrHolder(sessionId, request, async () => {
      const stopped = await this.locks.run(sessionId, async () => {
        const handle = await this.currentHandle(sessionId);
        // Unreadable: stop, as asked (the caller read the organization barred).
        if (!handle || (await this.mayRun(handle.ref.organizationId).catch(() => false)))
          return false;
        await this.stopLocked(handle, reason);
        return true;
      });
      if (!stopped) return;
      const doc = await this.store.findBySessionId(sessionId);
      if (!doc || !(await this.mayRun(doc.organizationId))) return;
      this.log.log(`Session ${sessionId} may run again since it was stopped: restoring it`);
      await this.restore([doc]);
    });
  }

  /** Caller holds the session lock. The status is written before the lease goes, so an instance
   * that finds the session free never has its own start overwritten by this stop. */
  private async stopLocked(handle: SessionHandle, reason: string | undefined): Promise<void> {
    // Taken over by another instance (unnoticed yet): stopped there, this one only steps back.
    await this.confirmHeld(handle);
    this.ending.add(handle.sessionId);
    try {
      await this.dispose(handle, false);
      // A close handled meanwhile may already have settled it as logged_out/failed: keep that.
      if (handle.status !== 'logged_out' && handle.status !== 'failed')
        await this.status.set(handle, 'disconnected', {
          qr: null,
          qrExpiresAt: null,
          lastError: reason ?? null,
        });
    } finally {
      this.ending.delete(handle.sessionId);
      await this.releaseLease(handle.sessionId, handle.leaseToken);
    }
  }

  /**
   * Starts these sessions as the boot restore would: linked ones whose organization may run (each
   * decided on its current document, under its lock).
   */
  restore(sessions: WaSessionState[]): Promise<RestoreSummary> {
    return this.restorer.startAll(sessions);
  }

  restart(sessionId: string): Promise<void> {
    return this.locks.run(sessionId, () =>
      this.hereOrHolder(sessionId, { kind: 'restart' }, async () => {
        const handle = await this.currentHandle(sessionId);
        if (handle) await this.dispose(handle, false);
        await this.startLocked(sessionId);
      }),
    );
  }

  /** Unlinks on WhatsApp when connected, closes, clears the auth state; status `logged_out`. */
  logout(sessionId: string): Promise<void> {
    return this.locks.run(sessionId, () =>
      this.hereOrHolder(sessionId, { kind: 'logout' }, () => this.logoutLocked(sessionId, false)),
    );
  }

  /**
   * Logout + delete the session document (messages and contacts are not this lib's), under one
   * hold of the session's lock: a restart or QR asked meanwhile finds no session, instead of
   * starting it again between the logout and the delete.
   */
  destroy(sessionId: string): Promise<void> {
    return this.locks.run(sessionId, () =>
      this.hereOrHolder(sessionId, { kind: 'destroy' }, () => this.logoutLocked(sessionId, true)),
    );
  }

  /** `andDelete`: the session document goes too, under the same lease. */
  private async logoutLocked(sessionId: string, andDelete: boolean): Promise<void> {
    this.ending.add(sessionId);
    try {
      await this.logoutEnding(sessionId, andDelete);
    } finally {
      this.ending.delete(sessionId);
    }
  }

  /**
   * Only the session's holder logs it out. An instance whose lease another instance took without
   * it noticing yet (a stall, a database outage, until its next renewal) would otherwise unlink
   * the device the other one runs, and delete the keys and the document that one now writes. So
   * a session live here has its lease confirmed first (lost: this instance steps back and the
   * request goes to the holder, `SessionLeasedElsewhereError` for `hereOrHolder`), and the auth
   * rows, the `logged_out` status and the document are removed under the session's lease, each
   * write fenced by it (none lands once another instance took it), before the lease is let go.
   */
  private async logoutEnding(sessionId: string, andDelete: boolean): Promise<void> {
    const doc = await this.requireDoc(sessionId);
    await this.confirmHeldHere(sessionId);
    const notUnlinked = await this.unlinkOnWhatsApp(sessionId);
    if (notUnlinked)
      this.log.warn(
        `Session ${sessionId} could not be unlinked on WhatsApp (${notUnlinked}); unlinked here only`,
      );
    const { leaseToken, handle } = await this.leaseForEnding(sessionId);
    let deletion: WaSessionDeletionNote | undefined;
    try {
      await this.authStores
        .forSession(sessionId, this.leases.fence(sessionId))
        .clear()
        .catch((err: unknown) => {
          throw err instanceof AuthWritesFencedError
            ? new SessionLeasedElsewhereError(sessionId)
            : err;
        });
      const holder = handle ?? {
        ...this.holderOf((await this.store.findBySessionId(sessionId)) ?? doc),
        leaseToken,
      };
      const written = await this.status.set(holder, 'logged_out', {
        qr: null,
        qrExpiresAt: null,
        stoppedUntilAsked: null,
        lastError: notUnlinked
          ? `Not unlinked on WhatsApp (${notUnlinked}): remove the device in the phone's linked devices`
          : null,
      });
      if (!written) throw new SessionLeasedElsewhereError(sessionId);
      if (andDelete) {
        deletion = await this.deletions.delete(doc, () => this.store.delete(sessionId, leaseToken));
        // Not deleted, yet still there: another instance took the lease meanwhile.
        if (!deletion && (await this.store.findBySessionId(sessionId)))
          throw new SessionLeasedElsewhereError(sessionId);
      }
    } finally {
      if (handle) await this.retire(handle, true);
      else await this.letGo(sessionId, leaseToken);
    }
    // Only by the delete that removed the document: one that found it gone removed nothing.
    // Awaited like a status change: the event outbox has it before the delete is answered.
    if (deletion) await this.deletions.announce(deletion);
  }

  /**
   * Deletes a session whose create is rolled back (its start refused by an instance shutting
   * down), under its lease taken here for that, as a delete of a session not live here is: an
   * instance may have started it meanwhile (a QR asked of it as soon as the name existed), and the
   * document of a session another instance runs is not deleted under it. False when the session
   * runs (here or on another instance): it stays then.
   */
  discardUnstarted(sessionId: string): Promise<boolean> {
    return this.locks.run(sessionId, async () => {
      if (this.handles.has(sessionId)) return false;
      const leaseToken = await this.leases.acquire(sessionId);
      // Refused: another instance holds it, or it is gone already.
      if (!leaseToken) return !(await this.store.findBySessionId(sessionId));
      try {
        // Whatever its start elsewhere meanwhile wrote (Baileys' first creds), fenced as a logout's.
        await this.authStores.forSession(sessionId, this.leases.fence(sessionId)).clear();
        await this.store.delete(sessionId, leaseToken);
        return true;
      } catch (err) {
        if (err instanceof AuthWritesFencedError) return false; // taken by another instance
        throw err;
      } finally {
        await this.letGo(sessionId, leaseToken);
      }
    });
  }

  /** `confirmHeld` for the session's handle here, if any. */
  private async confirmHeldHere(sessionId: string): Promise<void> {
    const handle = await this.currentHandle(sessionId);
    if (handle) await this.confirmHeld(handle);
  }

  /**
   * A session live here whose lease another instance took (this one has not noticed yet): this
   * instance steps back, and the caller's request (a stop, logout or delete) goes to the holder.
   * @throws SessionLeasedElsewhereError then
   */
  private async confirmHeld(handle: SessionHandle): Promise<void> {
    if (await this.leases.confirm(handle.sessionId)) return;
    await this.dispose(handle, false);
    throw new SessionLeasedElsewhereError(handle.sessionId);
  }

  /**
   * The lease a logout's last writes go under: the live handle's, confirmed once its connection
   * is closed (a close being handled settles first, and may have let the lease go), otherwise
   * one taken now. @throws SessionLeasedElsewhereError when another instance holds the session.
   */
  private async leaseForEnding(
    sessionId: string,
  ): Promise<{ leaseToken: string; handle?: SessionHandle }> {
    const handle = this.handles.get(sessionId);
    if (handle) {
      await this.closeHandle(handle);
      if (this.handles.get(sessionId) === handle) {
        try {
          await this.confirmHeld(handle);
        } catch (err) {
          await this.retire(handle, false); // closed already: not left registered
          throw err;
        }
        return { leaseToken: handle.leaseToken, handle };
      }
    }
    const leaseToken = await this.leases.acquire(sessionId);
    if (!leaseToken) throw new SessionLeasedElsewhereError(sessionId);
    return { leaseToken };
  }

  /** Lets go of the lease taken under `token`; a failure is logged (the lease then runs out). */
  private async releaseLease(sessionId: string, token: string): Promise<void> {
    await this.leases
      .release(sessionId, token)
      .catch((err) => this.logError('Lease release failed', err));
  }

  /** A session not live here: its auth writes land, then its lease goes (see `retire`). */
  private async letGo(sessionId: string, leaseToken: string): Promise<void> {
    try {
      await this.authStores.release(sessionId);
    } finally {
      await this.releaseLease(sessionId, leaseToken);
    }
  }

  /**
   * Unlinks the device on WhatsApp: only a live connection can, and a linked session that is
   * reconnecting, stopped, not restored yet or whose connection is dropping would otherwise be
   * logged out here while the phone still lists it. So a session that is not connected is
   * connected first, and a logout that fails (the connection dropped before WhatsApp confirmed it)
   * connects again and retries, for LOGOUT_CONNECT_TIMEOUT_MS. Returns undefined once unlinked, or
   * when there is no link to undo (never linked, or unlinked from the phone meanwhile); otherwise
   * why not. Caller holds the session lock (events and status changes do not need it).
   */
  private async unlinkOnWhatsApp(sessionId: string): Promise<string | undefined> {
    const deadline = Date.now() + LOGOUT_CONNECT_TIMEOUT_MS;
    let failure: string | undefined;
    for (;;) {
      const live = await this.liveConnectionForLogout(sessionId, deadline);
      if (live === 'notLinked') return undefined;
      if (live === 'timedOut')
        return failure ?? `could not connect within ${LOGOUT_CONNECT_TIMEOUT_MS / 1000} s`;
      if (typeof live === 'string') return failure ? `${failure}; then ${live}` : live;
      try {
        await this.bounded(live.logout(), LOGOUT_TIMEOUT_MS);
        return undefined;
      } catch (err) {
        failure = `logout failed: ${messageOf(err)}`;
        // Whatever is left of it ends now; it emits nothing more (detached).
        void live.close().catch(() => undefined);
      }
      const left = deadline - Date.now();
      if (left <= 0) return failure;
      this.log.warn(`Logout of ${sessionId} on WhatsApp: ${failure}; connecting again to retry`);
      await new Promise((resolve) => setTimeout(resolve, Math.min(LOGOUT_RETRY_PAUSE_MS, left)));
    }
  }

  /**
   * The session's current connection once it is open, detached from the handle for a logout (it
   * emits nothing more); opened here first when there is none. `notLinked` when there is nothing
   * to unlink, `timedOut` past `deadline`, otherwise why the session could not connect.
   */
  private async liveConnectionForLogout(
    sessionId: string,
    deadline: number,
  ): Promise<WaConnection | 'notLinked' | 'timedOut' | string> {
    for (;;) {
      // An open or close being handled right now settles first: until its status is written, a
      // handle whose connection just closed still reads `connected`, and one that just opened not.
      await this.handles.get(sessionId)?.events.idle();
      const handle = this.handles.get(sessionId);
      if (handle?.connection && handle.status === 'connected') return handle.detachConnection()!;
      // Right after a scan the status still reads qr_ready, though WhatsApp lists the device: the
      // connection the scan linked is about to close (515), or closed and its reconnect waits
      // behind us. Only a live connection still showing its QR unscanned has no link to undo.
      if (handle?.connection && handle.status === 'qr_ready') {
        if (!handle.connection.isLinked()) return 'notLinked';
        // Linked: its 515 close comes soon; then the reconnect below logs in and unlinks.
        if (deadline - Date.now() <= 0) return 'timedOut';
        await new Promise((resolve) => setTimeout(resolve, LOGOUT_RETRY_PAUSE_MS));
        continue;
      }
      const linked = await this.authStores
        .forSession(sessionId)
        .hasCreds()
        .catch(() => false);
      if (!linked) return 'notLinked'; // never linked, or unlinked from the phone meanwhile
      const left = deadline - Date.now();
      if (left <= 0) return 'timedOut';
      // Connecting now also replaces a reconnect waiting out its backoff (or its turn).
      await this.connectNowLocked(sessionId);
      const status = this.handles.has(sessionId)
        ? await this.waitForStatus(sessionId, notConnecting, left)
        : (await this.store.findBySessionId(sessionId))?.status; // failed to start
      if (!this.handles.has(sessionId))
        return status === 'logged_out' ? 'notLinked' : `could not connect (${status ?? 'gone'})`;
      if (status === 'disconnected' || status === undefined)
        // The attempt failed (a backoff reconnect is waiting for our lock): try again now.
        await new Promise((resolve) =>
          setTimeout(resolve, Math.min(LOGOUT_RETRY_PAUSE_MS, Math.max(0, deadline - Date.now()))),
        );
    }
  }

  // ---- linking ------------------------------------------------------------------

  /** Current QR as a PNG data URL; starts the session (or retries now) when it is idle. */
  getQr(sessionId: string): Promise<QrView> {
    return this.hereOrHolder(sessionId, { kind: 'qr' }, async () => {
      const { status, started } = await this.ensureLinking(sessionId);
      const doc = await this.requireDoc(sessionId);
      if (status !== 'qr_ready' || !doc.qr) throw new QrNotAvailableError(sessionId, doc.status);
      return {
        qr: doc.qr,
        status: doc.status,
        expiresAt: doc.qrExpiresAt,
        ...(started ? { started } : {}),
      };
    });
  }

  requestPairingCode(sessionId: string, phone: string): Promise<string> {
    return this.hereOrHolder(sessionId, { kind: 'pairingCode', phone }, async () => {
      const { status } = await this.ensureLinking(sessionId);
      const connection = this.handles.get(sessionId)?.connection;
      if (status !== 'qr_ready' || !connection)
        throw new QrNotAvailableError(sessionId, status ?? 'disconnected');
      return this.pairingCodeOf(connection, phone.replace(/\D/g, ''));
    });
  }

  /**
   * Concurrent callers for one phone (a double click, two tabs) share the code being asked for:
   * asking WhatsApp again replaces the code, so each would get one only the last of which works.
   * A request after that code was given asks anew (the earlier may have been voided by a wrong
   * attempt, or expired).
   */
  private pairingCodeOf(connection: WaConnection, phone: string): Promise<string> {
    const asking = this.pairingCodes.get(connection);
    if (asking?.phone === phone) return asking.code;
    const code = connection.requestPairingCode(phone);
    this.pairingCodes.set(connection, { phone, code });
    const done = () => {
      if (this.pairingCodes.get(connection)?.code === code) this.pairingCodes.delete(connection);
    };
    code.then(done, done);
    return code;
  }

  // ---- messaging --------------------------------------------------------------

  send(sessionId: string, to: string, content: OutboundContent): Promise<SendResult> {
    return this.connectedOrThrow(sessionId).sendMessage(to, content);
  }

  downloadMedia(sessionId: string, ref: MediaRef, maxBytes: number): Promise<Readable> {
    const connection = this.handles.get(sessionId)?.connection;
    if (!connection) throw new SessionNotConnectedError(sessionId);
    return connection.downloadMedia(ref, maxBytes);
  }

  /** Re-reads the session's contacts: here if it runs here, else by the instance holding it. */
  async resyncContacts(sessionId: string): Promise<void> {
    const handle = this.handles.get(sessionId);
    if (handle?.connection && this.isConnected(sessionId))
      return handle.connection.resyncContacts();
    const doc = await this.requireDoc(sessionId);
    if (
      handle ||
      doc.status !== 'connected' ||
      !(await this.store.isLeasedElsewhere(sessionId, this.instanceId))
    )
      throw new SessionNotConnectedError(
        sessionId,
        handle ? this.shownStatus(sessionId) : doc.status,
      );
    await this.relay.tell(sessionId, { kind: 'resyncContacts' });
  }

  markRead(sessionId: string, keys: WaReadKey[]): Promise<void> {
    return this.connectedOrThrow(sessionId).markRead(keys);
  }

  // ---- introspection ------------------------------------------------------------

  /** Connected here and open for traffic: not while it is being logged out, deleted or stopped. */
  isConnected(sessionId: string): boolean {
    return this.handles.get(sessionId)?.status === 'connected' && !this.ending.has(sessionId);
  }

  /** The live status for a refusal: none while ending, whose handle may still read `connected`. */
  private shownStatus(sessionId: string): WaSessionStatus | undefined {
    return this.ending.has(sessionId) ? undefined : this.handles.get(sessionId)?.status;
  }

  /** Status as this instance sees it; undefined when the session is not live here. */
  liveStatus(sessionId: string): WaSessionStatus | undefined {
    return this.handles.get(sessionId)?.status;
  }

  liveCount(): number {
    return this.handles.size;
  }

  liveSessions(): { sessionId: string; organizationId: string; status: WaSessionStatus }[] {
    return [...this.handles.values()].map((h) => ({
      sessionId: h.sessionId,
      organizationId: h.ref.organizationId,
      status: h.status,
    }));
  }

  /** Resolves with the first matching status, or undefined after timeoutMs. */
  waitForStatus(sessionId: string, accept: (s: WaSessionStatus) => boolean, timeoutMs: number) {
    return this.status.waitFor(sessionId, this.handles.get(sessionId)?.status, accept, timeoutMs);
  }

  // ---- boot restore --------------------------------------------------------------

  /** Starts every linked session not logged out or stopped until asked; a broken one ends `failed`, the others are unaffected. */
  restoreAll(): Promise<RestoreSummary> {
    return this.restorer.restoreAll();
  }

  /** Announces status changes and deletions a crash (here or on another instance) left unannounced. */
  private async announceMissed(before: Date): Promise<void> {
    const count = await this.status.announceMissed(before).catch((err: unknown) => {
      this.logError('Announcing missed status changes failed', err);
      return 0;
    });
    if (count) this.log.warn(`Announced ${count} session status changes a crash had cut off`);
    const deleted = await this.deletions.announceMissed(before).catch((err: unknown) => {
      this.logError('Announcing missed session deletions failed', err);
      return 0;
    });
    if (deleted) this.log.warn(`Announced ${deleted} session deletions a crash had cut off`);
  }

  /** Starts linked sessions left running by an instance whose lease expired; returns their ids. */
  adoptOrphans(): Promise<string[]> {
    return this.restorer.adoptOrphans().catch((err) => {
      this.logError('Adopting orphaned sessions failed', err);
      return [];
    });
  }

  // ---- internals ----------------------------------------------------------------

  private async startLocked(sessionId: string): Promise<void> {
    if (await this.currentHandle(sessionId)) return;
    if (this.closed) throw new InstanceShuttingDownError(sessionId);
    const doc = await this.requireDoc(sessionId);
    const leaseToken = await this.leases.acquire(sessionId);
    if (!leaseToken) throw new SessionLeasedElsewhereError(sessionId);
    if (this.closed) {
      // The shutdown began while the lease was being taken; its close does not see this session.
      await this.releaseLease(sessionId, leaseToken);
      throw new InstanceShuttingDownError(sessionId);
    }
    const handle = new SessionHandle(
      { sessionId, organizationId: doc.organizationId, sessionName: doc.sessionName },
      doc.status,
      !!doc.initialStatus,
      // Its auth writes land only while the lease taken above is ours.
      this.authStores.forSession(sessionId, this.leases.fence(sessionId)),
      leaseToken,
      (err) => this.logError(`Event handling failed for ${sessionId}`, err),
    );
    this.handles.set(sessionId, handle);
    this.leases.track(sessionId);
    this.relay.start();
    try {
      await handle.auth.readCreds(); // fail fast on a corrupt auth state instead of looping reconnects
    } catch (err) {
      // Written while the lease is still held (as a close that settles the session), then let go.
      await this.closeHandle(handle);
      try {
        await this.status.set(handle, 'failed', {
          qr: null,
          qrExpiresAt: null,
          lastError: `Auth state is unreadable: ${(err as Error).message}`,
          stoppedUntilAsked: null, // asked: what a later boot does with it depends on this status
        });
      } finally {
        await this.retire(handle, true);
      }
      return;
    }
    await this.openConnection(handle);
  }

  private async openConnection(handle: SessionHandle): Promise<void> {
    handle.qrCount = 0;
    // A start (asked by a user, or a restore) ends a stop that waited to be asked.
    const written = await this.status.set(handle, 'connecting', {
      qr: null,
      qrExpiresAt: null,
      stoppedUntilAsked: null,
    });
    // Not written: another instance took the session over (this one stalled), it connects there.
    if (!written || handle.disposed) return;
    const connection = this.engine.create({
      sessionId: handle.sessionId,
      auth: handle.auth,
      logger: this.rootLogger.child({ sessionId: handle.sessionId }),
    });
    handle.connection = connection;
    this.events.bind(handle, connection);
  }

  /** `outageAttempt`: reconnects in a row that the database could not take (they are tried again). */
  private scheduleReconnect(handle: SessionHandle, delayMs: number, outageAttempt = 0): void {
    handle.cancelReconnect();
    handle.reconnectTimer = setTimeout(() => {
      handle.reconnectTimer = undefined;
      void this.locks
        .run(handle.sessionId, async () => {
          if (handle.disposed || this.handles.get(handle.sessionId) !== handle || handle.connection)
            return;
          await this.openConnection(handle);
        })
        .catch((err) => {
          this.logError(`Reconnect of ${handle.sessionId} failed`, err);
          // Its status could not be written: try again, or the session stays down after the outage.
          if (isTransientDatabaseError(err) && !this.closed)
            this.scheduleReconnect(
              handle,
              backoffDelay(outageAttempt + 1, OUTAGE_BACKOFF),
              outageAttempt + 1,
            );
        });
    }, delayMs);
  }

  /** Ends a handle: no more events, timers or connection. Caller holds the session lock. */
  private async dispose(handle: SessionHandle, releaseLease: boolean): Promise<void> {
    await this.closeHandle(handle);
    await this.retire(handle, releaseLease);
  }

  /**
   * Closes the handle's connection and waits for the events already queued (a close being
   * handled settles first); it handles none after. Still registered and leased: see `retire`.
   */
  private async closeHandle(handle: SessionHandle): Promise<void> {
    try {
      // What the engine still holds back was received (its receipts may have gone out): handled too.
      handle.connection?.flushEvents();
    } catch (err) {
      this.logError(`Handing over the held-back events of ${handle.sessionId} failed`, err);
    }
    handle.disposed = true;
    handle.cancelReconnect();
    // Its traffic is heard until it closed: a message Baileys was handling may come out of the
    // close with its receipt already sent (WhatsApp will not send it again).
    const connection = handle.beginClose();
    await connection
      ?.close()
      .catch((err) => this.logError(`Closing ${handle.sessionId} failed`, err));
    handle.closeEnded(connection);
    await handle.events.idle();
  }

  private async retire(handle: SessionHandle, releaseLease: boolean): Promise<void> {
    handle.disposed = true;
    handle.cancelReconnect();
    if (this.handles.get(handle.sessionId) === handle) this.handles.delete(handle.sessionId);
    try {
      // Its auth writes land first (a take-back at close): who takes the lease next reads them.
      await this.authStores.release(handle.sessionId);
    } finally {
      if (releaseLease) await this.releaseLease(handle.sessionId, handle.leaseToken);
      else this.leases.untrack(handle.sessionId);
    }
  }

  /**
   * The session's handle here. One a close is settling (disposed: logged out, stopped or given up,
   * its status being written while it still holds the lease) is waited for first, and is gone by
   * then: a start meanwhile would have its status overwritten by that close, and its lease
   * released. Caller holds the session lock (the close does not take it).
   */
  private async currentHandle(sessionId: string): Promise<SessionHandle | undefined> {
    const handle = this.handles.get(sessionId);
    if (handle?.disposed) await handle.events.idle();
    return this.handles.get(sessionId);
  }

  /**
   * Another instance owns the session now: step back quietly, its status is theirs to write.
   * `lost`: the handle that found out, if a status write did (not a newer one started since).
   */
  private onLeaseLost(sessionId: string, lost?: StatusHolder): void {
    void this.locks
      .run(sessionId, async () => {
        const handle = this.handles.get(sessionId);
        if (!handle || (lost && handle !== lost)) return;
        this.log.warn(
          `Lease of ${sessionId} was taken by another instance; closing the local connection (its auth writes not stored yet are dropped)`,
        );
        await this.dispose(handle, false);
        await this.reportSharedInstanceId(sessionId, handle.leaseToken);
      })
      .catch((err) => this.logError(`Stepping back from ${sessionId} failed`, err));
  }

  /**
   * A lease taken from this process under its own id, which this process did not take: another
   * live process runs under the same INSTANCE_ID (two pods given one id, a process that stalled
   * while its restart took its sessions back). Each takes the other's sessions back at every start
   * (an owner's own lease is free to it), so it is said loudly, once; this process steps back.
   */
  private async reportSharedInstanceId(sessionId: string, ourToken: string): Promise<void> {
    if (this.sharedIdReported) return;
    // Only a diagnosis: a read that fails leaves it to the next session lost this way.
    const lease = (await this.store.findBySessionId(sessionId).catch(() => null))?.lease;
    if (lease?.owner !== this.instanceId || lease.token === ourToken) return;
    this.sharedIdReported = true;
    this.log.error(
      `Misconfiguration: another live process runs under this instance's INSTANCE_ID "${this.instanceId}" and took session ${sessionId} from it; this process steps back from the sessions taken from it. Give each instance its own INSTANCE_ID (on the embedded store, its own DATA_DIR)`,
    );
  }

  /**
   * Makes sure the session is trying to link, then waits until it shows a QR (or settles
   * otherwise). `started`: it was not running here, this call started it.
   */
  private async ensureLinking(
    sessionId: string,
  ): Promise<{ status: WaSessionStatus | undefined; started: boolean }> {
    // Under the lock, so a concurrent caller finds the connection opening (`connecting`), not the
    // idle status a handle being started still has, which the wait below would take as settled.
    // The wait starts there too: a status written right after the lock is let go is not missed.
    const linking = await this.locks.run(sessionId, async () => {
      const running = await this.currentHandle(sessionId);
      if (running?.status === 'connected') throw new SessionAlreadyConnectedError(sessionId);
      await this.connectNowLocked(sessionId);
      const handle = this.handles.get(sessionId);
      // No handle: the start ended at once (an unreadable auth state settled it `failed`), and
      // the status it wrote is the answer; waiting for a signal that already fired is not.
      if (!handle) return undefined;
      // Wrapped: a promise returned bare would keep the lock until the wait is over.
      return {
        started: !running,
        settled: this.status.waitFor(
          sessionId,
          handle.status,
          notConnecting,
          this.options.qrWaitMs,
        ),
      };
    });
    const status = linking ? await linking.settled : (await this.requireDoc(sessionId)).status;
    if (status === 'connected') throw new SessionAlreadyConnectedError(sessionId);
    return {
      status: status ?? this.handles.get(sessionId)?.status,
      started: !!linking?.started,
    };
  }

  /**
   * Starts the session here, or, when it waits out a reconnect backoff, retries now rather than at
   * the backoff's next attempt. Caller holds the session lock.
   */
  private async connectNowLocked(sessionId: string): Promise<void> {
    const handle = await this.currentHandle(sessionId);
    if (!handle) return this.startLocked(sessionId);
    // Whatever its status says: a close being handled, or a reconnect about to run, leaves
    // `connected` on a handle without a connection.
    if (handle.connection || handle.disposed) return;
    handle.cancelReconnect();
    await this.openConnection(handle);
  }

  /**
   * Runs `here` on this instance, unless another live instance holds the session (by the
   * database's clock, as leases are taken: this instance's may be off): then the request is asked
   * of it (HolderRelay), or run here after all if the session stops being held there while the
   * asker waits. So is a request whose start here lost the lease to another instance starting the
   * session meanwhile (the winner holds it now), and one that found the session live here but its
   * lease taken by another instance this one had not noticed yet (a logout or delete).
   */
  private async hereOrHolder<T>(
    sessionId: string,
    request: HolderRequest,
    here: () => Promise<T>,
  ): Promise<T> {
    if (!this.handles.has(sessionId)) {
      await this.requireDoc(sessionId);
      if (await this.store.isLeasedElsewhere(sessionId, this.instanceId))
        return (await this.relay.ask(sessionId, request, here)) as T;
    }
    try {
      return await here();
    } catch (err) {
      if (!(err instanceof SessionLeasedElsewhereError)) throw err;
      return (await this.relay.ask(sessionId, request, here)) as T;
    }
  }

  /** A request another instance left for a session held here, carried out as if asked here. */
  private carryOut(sessionId: string, request: HolderRequest): Promise<unknown> {
    switch (request.kind) {
      case 'qr':
        return this.getQr(sessionId);
      case 'pairingCode':
        return this.requestPairingCode(sessionId, request.phone);
      case 'restart':
        return this.restart(sessionId);
      case 'stop':
        return request.whileBarred
          ? this.stopWhileBarred(sessionId, request.reason ?? '')
          : this.stop(sessionId, request.reason);
      case 'logout':
        return this.logout(sessionId);
      case 'destroy':
        return this.destroy(sessionId);
      case 'resyncContacts':
        return this.resyncContacts(sessionId);
    }
  }

  private connectedOrThrow(sessionId: string) {
    const handle = this.handles.get(sessionId);
    if (!handle?.connection || !this.isConnected(sessionId))
      throw new SessionNotConnectedError(sessionId, this.shownStatus(sessionId));
    return handle.connection;
  }

  private async requireDoc(sessionId: string): Promise<WaSessionState> {
    const doc = await this.store.findBySessionId(sessionId);
    if (!doc) throw new SessionNotFoundError(sessionId);
    return doc;
  }

  private holderOf(doc: WaSessionState): Omit<StatusHolder, 'leaseToken'> {
    return {
      ref: {
        sessionId: doc.sessionId,
        organizationId: doc.organizationId,
        sessionName: doc.sessionName,
      },
      status: doc.status,
      initial: !!doc.initialStatus,
    };
  }

  private bounded<T>(promise: Promise<T>, ms: number): Promise<T> {
    return within(promise, ms, (): never => {
      throw new Error(`timed out after ${ms} ms`);
    });
  }

  private logError(what: string, err: unknown): void {
    this.log.error(`${what}: ${messageOf(err)}`);
  }
}
