import type { AskedRequest, HolderAnswer, LeftRequest } from './holder-request';
import type {
  LeaseGrant,
  WaSessionDeletionNote,
  WaSessionPatch,
  WaSessionState,
  WaSessionStatus,
} from './session-state';

export const SESSION_STATE_STORE = Symbol('SESSION_STATE_STORE');

/** Persistence of session documents, their ownership leases and the requests to their holder. */
export interface SessionStateStore {
  /**
   * In a free one of its organization's `limit` slots (see organization-slots), so the limit holds
   * under concurrent creates.
   * @throws SessionAlreadyExistsError, SessionLimitReachedError
   */
  create(
    input: { organizationId: string; sessionName: string },
    limit?: number,
  ): Promise<WaSessionState>;
  findBySessionId(sessionId: string): Promise<WaSessionState | null>;
  listByOrganization(organizationId: string): Promise<WaSessionState[]>;
  listByStatusNotIn(statuses: WaSessionStatus[]): Promise<WaSessionState[]>;
  /** Those no instance holds: no lease, or one run out by the database's clock. */
  listUnleasedByStatusNotIn(statuses: WaSessionStatus[]): Promise<WaSessionState[]>;
  /** Sessions whose `lastError` is exactly one of these (e.g. why they were stopped). */
  listByLastError(lastErrors: string[]): Promise<WaSessionState[]>;
  /** Removes a stopped (`disconnected`) session's `lastError` if it still is `lastError`. */
  clearLastError(sessionId: string, lastError: string): Promise<void>;
  /**
   * With `leaseToken`, only while the session's lease is still the one taken under it (run out or
   * not: nobody took it since): null once another instance took it, also after that one let it go
   * again (no lease), as when the session is gone.
   */
  update(
    sessionId: string,
    patch: WaSessionPatch,
    leaseToken?: string,
  ): Promise<WaSessionState | null>;
  /** Sessions with a status change not announced since before `before`. */
  listUnannounced(before: Date): Promise<WaSessionState[]>;
  /** The change written at `at` was announced (a newer one keeps its own note). */
  clearAnnouncement(sessionId: string, at: Date): Promise<void>;
  /** Notes a deletion about to happen (a note for the same session and creation is replaced). */
  noteDeletion(note: WaSessionDeletionNote): Promise<void>;
  /** Deletion notes written before `before`. */
  listDeletionNotes(before: Date): Promise<WaSessionDeletionNote[]>;
  dropDeletionNote(note: WaSessionDeletionNote): Promise<void>;
  /** With `leaseToken`, only while the lease is still the one taken under it (as `update`). */
  delete(sessionId: string, leaseToken?: string): Promise<boolean>;
  /**
   * Atomically take the lease when it is free, expired or already ours, under a new token; dated
   * and judged by the database's clock (each instance's own may be off). Null when refused.
   */
  acquireLease(sessionId: string, owner: string, ttlMs: number): Promise<LeaseGrant | null>;
  /**
   * Extends, in one go (a renewal round), each of these leases that is still the one taken: the
   * same owner and token, run out or not (nobody took it since). Returns those, with their new
   * expiry; a missing one is gone, or was taken by another instance since (even if let go again).
   */
  renewLeases(leases: LeaseGrant[], owner: string, ttlMs: number): Promise<LeaseGrant[]>;
  /**
   * Lets go of the lease taken under `token`; a lease taken since (by another instance, or anew by
   * the same owner: a restart under the same INSTANCE_ID) stays.
   */
  releaseLease(sessionId: string, token: string): Promise<void>;
  /**
   * Whether another instance holds the session now: its lease names another owner and has not
   * run out by the database's clock (`instanceId`'s own may be off). False when the session is gone.
   */
  isLeasedElsewhere(sessionId: string, instanceId: string): Promise<boolean>;
  /** Leaves a request for whichever instance holds the session; kept until `expiresAt`. */
  askHolder(request: LeftRequest): Promise<void>;
  /**
   * Of the open requests to these sessions (held by the caller), the ones this caller took: each is
   * taken by exactly one. Asked ones only when another instance left them (their asker waits,
   * maybe holding the session's lock); told ones (nobody waits) also the caller's own, and only
   * for the sessions `connected` on it, which is what they need (a contacts resync).
   */
  takeHolderRequests(
    sessionIds: string[],
    takenBy: string,
    connected: string[],
  ): Promise<AskedRequest[]>;
  answerHolderRequest(id: string, answer: HolderAnswer): Promise<void>;
  /** The answer, once the holder gave it. */
  holderAnswer(id: string): Promise<HolderAnswer | undefined>;
  /** Withdraws a request nobody took yet; false when a holder has it already. */
  withdrawHolderRequest(id: string): Promise<boolean>;
}
