import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@app/common';
import {
  InstanceShuttingDownError,
  makeSessionId,
  SessionAlreadyExistsError,
  SessionLeasedElsewhereError,
  SessionNotFoundError,
  SessionQueryService,
  SessionRegistry,
  type QrView,
  type WaSessionState,
} from '@app/whatsapp';
import { SessionModuleGate } from './session-module-gate';
import { SessionDeletedDuringCreateError } from './whatsapp-session.errors';

const ACTIVITY_WRITE_INTERVAL_MS = 1_000;

/** Organization-scoped session operations over SessionRegistry (connections) and SessionQueryService (documents). */
@Injectable()
export class WhatsAppSessionsService {
  // lastActivityAt is written at most once a second per session: a burst of messages is one write.
  private readonly lastActivityWrite = new Map<string, number>();

  constructor(
    private readonly registry: SessionRegistry,
    private readonly sessions: SessionQueryService,
    private readonly moduleGate: SessionModuleGate,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async create(organizationId: string, sessionName: string): Promise<WaSessionState> {
    const limit = this.config.WHATSAPP_MAX_SESSIONS_PER_ORG;
    // A duplicate name is a conflict whatever the count; the unique index still decides races.
    if (await this.sessions.findOne(makeSessionId(organizationId, sessionName)))
      throw new SessionAlreadyExistsError(sessionName);
    const created = await this.sessions.create({ organizationId, sessionName }, limit);
    try {
      await this.registry.start(created.sessionId);
    } catch (err) {
      // A delete of the name overtook this create: not an unknown session to the client.
      if (err instanceof SessionNotFoundError)
        throw new SessionDeletedDuringCreateError(sessionName);
      // Refused by an instance shutting down: the client retries the create, not a 409 for a
      // session it was told was not created.
      if (err instanceof InstanceShuttingDownError) await this.rollBack(created.sessionId, err);
      // Another instance started it first (its QR asked of that one): created, and running there.
      else if (!(err instanceof SessionLeasedElsewhereError)) throw err;
    }
    await this.moduleGate.stopIfSwitchedOff(organizationId, created.sessionId);
    return (await this.sessions.findOne(created.sessionId)) ?? created;
  }

  /**
   * Deletes the session a create just made and throws `why`; unless an instance started it
   * meanwhile (a QR asked of it as soon as the name existed): the create then stands, the session
   * running there, rather than its document deleted under it.
   */
  private async rollBack(sessionId: string, why: Error): Promise<void> {
    if (await this.registry.discardUnstarted(sessionId)) throw why;
  }

  list(organizationId: string): Promise<WaSessionState[]> {
    return this.sessions.listByOrganization(organizationId);
  }

  /** The caller's session by name; another organization's session is simply not found. */
  getOwned(organizationId: string, sessionName: string): Promise<WaSessionState> {
    return this.sessions.findOneOrThrow(makeSessionId(organizationId, sessionName));
  }

  /**
   * For read routes filtering by session name: 404 SESSION_NOT_FOUND unless the organization has
   * the session, or had it and `keptData` says data of it remains (a deleted session's history
   * stays readable by its name). A typo must not read as "nothing there".
   */
  async requireKnown(
    organizationId: string,
    sessionName: string,
    keptData: () => Promise<boolean>,
  ): Promise<void> {
    try {
      await this.getOwned(organizationId, sessionName);
    } catch (error) {
      if (!(error instanceof SessionNotFoundError) || !(await keptData())) throw error;
    }
  }

  async getQr(organizationId: string, sessionName: string): Promise<QrView> {
    const session = await this.getOwned(organizationId, sessionName);
    // Starts a session not linked, which goes on connecting also when no QR came in time.
    let view: QrView | undefined;
    try {
      view = await this.registry.getQr(session.sessionId);
      return view;
    } finally {
      // Only a start can have missed a switch-off's stop (stopIfSwitchedOff): a dashboard polling
      // the QR of a running session does not read the organization's modules each time.
      if (!view || view.started)
        await this.moduleGate.stopIfSwitchedOff(organizationId, session.sessionId);
    }
  }

  async requestPairingCode(
    organizationId: string,
    sessionName: string,
    phone: string,
  ): Promise<string> {
    const session = await this.getOwned(organizationId, sessionName);
    // As getQr: the session runs on also when WhatsApp refused the code or no QR came in time.
    try {
      return await this.registry.requestPairingCode(session.sessionId, phone);
    } finally {
      await this.moduleGate.stopIfSwitchedOff(organizationId, session.sessionId);
    }
  }

  async restart(organizationId: string, sessionName: string): Promise<WaSessionState> {
    const session = await this.getOwned(organizationId, sessionName);
    await this.registry.restart(session.sessionId);
    await this.moduleGate.stopIfSwitchedOff(organizationId, session.sessionId);
    return this.getOwned(organizationId, sessionName);
  }

  /** Logs out on WhatsApp, closes, deletes auth state and the session; messages and contacts stay. */
  async delete(organizationId: string, sessionName: string): Promise<void> {
    const session = await this.getOwned(organizationId, sessionName);
    await this.registry.destroy(session.sessionId);
    this.lastActivityWrite.delete(session.sessionId);
  }

  async resyncContacts(organizationId: string, sessionName: string): Promise<void> {
    const session = await this.getOwned(organizationId, sessionName);
    await this.registry.resyncContacts(session.sessionId);
  }

  async touchActivity(sessionId: string, at: Date): Promise<void> {
    const last = this.lastActivityWrite.get(sessionId) ?? 0;
    if (Date.now() - last < ACTIVITY_WRITE_INTERVAL_MS) return;
    this.lastActivityWrite.set(sessionId, Date.now());
    await this.sessions.touchActivity(sessionId, at);
  }

  summary(): { live: number; connected: number; restoring: boolean } {
    const live = this.registry.liveSessions();
    return {
      live: live.length,
      connected: live.filter((s) => s.status === 'connected').length,
      restoring: this.registry.isRestoring,
    };
  }
}
