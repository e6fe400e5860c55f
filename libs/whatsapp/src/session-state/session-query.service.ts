import { Inject, Injectable } from '@nestjs/common';
import { SessionNotFoundError } from '../errors';
import type { WaSessionState } from './session-state';
import { SESSION_STATE_STORE, type SessionStateStore } from './session-state.store';

/**
 * Session documents for the app (create/list/read/delete, activity).
 * Connection control is SessionRegistry's; never change `status` here.
 */
@Injectable()
export class SessionQueryService {
  constructor(@Inject(SESSION_STATE_STORE) private readonly store: SessionStateStore) {}

  /** @throws SessionAlreadyExistsError, SessionLimitReachedError (held under concurrent creates) */
  create(
    input: { organizationId: string; sessionName: string },
    limit = Number.POSITIVE_INFINITY,
  ): Promise<WaSessionState> {
    return this.store.create(input, limit);
  }

  findOne(sessionId: string): Promise<WaSessionState | null> {
    return this.store.findBySessionId(sessionId);
  }

  async findOneOrThrow(sessionId: string): Promise<WaSessionState> {
    const doc = await this.store.findBySessionId(sessionId);
    if (!doc) throw new SessionNotFoundError(sessionId);
    return doc;
  }

  listByOrganization(organizationId: string): Promise<WaSessionState[]> {
    return this.store.listByOrganization(organizationId);
  }

  /** Stopped sessions (`disconnected`) whose `lastError` is one of `reasons` (why they were stopped). */
  async listStoppedWith(reasons: string[]): Promise<WaSessionState[]> {
    return (await this.store.listByLastError(reasons)).filter((s) => s.status === 'disconnected');
  }

  /** Forgets why a session was stopped (still stopped, and still for that reason). */
  forgetStopReason(sessionId: string, reason: string): Promise<void> {
    return this.store.clearLastError(sessionId, reason);
  }

  /**
   * Not fenced by the session's lease: any instance records activity (message effects replayed by
   * another instance's recovery too). It sets `lastActivityAt` only, and never creates a document
   * (one deleted meanwhile stays deleted): a holder's status, lease and fence are untouched.
   */
  async touchActivity(sessionId: string, at: Date = new Date()): Promise<void> {
    await this.store.update(sessionId, { lastActivityAt: at });
  }
}
