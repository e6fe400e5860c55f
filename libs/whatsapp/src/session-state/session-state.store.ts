import type { WaSessionPatch, WaSessionState, WaSessionStatus } from './session-state';

export const SESSION_STATE_STORE = Symbol('SESSION_STATE_STORE');

/** Persistence of session documents and their ownership leases. */
export interface SessionStateStore {
  /** @throws SessionAlreadyExistsError */
  create(input: { organizationId: string; sessionName: string }): Promise<WaSessionState>;
  findBySessionId(sessionId: string): Promise<WaSessionState | null>;
  listByOrganization(organizationId: string): Promise<WaSessionState[]>;
  countByOrganization(organizationId: string): Promise<number>;
  listByStatusNotIn(statuses: WaSessionStatus[]): Promise<WaSessionState[]>;
  update(sessionId: string, patch: WaSessionPatch): Promise<WaSessionState | null>;
  delete(sessionId: string): Promise<boolean>;
  /** Atomically take or renew the lease when it is free, expired or already ours. */
  acquireLease(sessionId: string, owner: string, ttlMs: number, now: Date): Promise<boolean>;
  releaseLease(sessionId: string, owner: string): Promise<void>;
  /** Ask the instance holding the session to re-read its contacts. */
  requestContactsResync(sessionId: string, at: Date): Promise<void>;
  /** Of these sessions, the ones with a resync request, each taken (cleared) by exactly one caller. */
  takeContactsResyncRequests(sessionIds: string[]): Promise<string[]>;
}
