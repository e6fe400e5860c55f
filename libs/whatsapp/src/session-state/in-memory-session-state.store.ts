import { randomUUID } from 'node:crypto';
import { SessionAlreadyExistsError, SessionLimitReachedError } from '../errors';
import type { HolderAnswer, LeftRequest } from './holder-request';
import {
  makeSessionId,
  type LeaseGrant,
  type WaSessionDeletionNote,
  type WaSessionPatch,
  type WaSessionState,
  type WaSessionStatus,
} from './session-state';
import type { SessionStateStore } from './session-state.store';

const copy = (s: WaSessionState): WaSessionState => structuredClone(s);

/** Same contract as the MongoDB store, in a Map; for tests. */
export class InMemorySessionStateStore implements SessionStateStore {
  readonly docs = new Map<string, WaSessionState>();
  /** Requests to holders by id; a taken one has `takenBy`, an answered one `answer`. */
  readonly requests = new Map<
    string,
    Omit<LeftRequest, 'expiresAt'> & { takenBy?: string; answer?: HolderAnswer; withdrawn?: true }
  >();

  async create(
    input: { organizationId: string; sessionName: string },
    limit = Number.POSITIVE_INFINITY,
  ): Promise<WaSessionState> {
    const sessionId = makeSessionId(input.organizationId, input.sessionName);
    if (this.docs.has(sessionId)) throw new SessionAlreadyExistsError(input.sessionName);
    if ((await this.listByOrganization(input.organizationId)).length >= limit)
      throw new SessionLimitReachedError(limit);
    const now = new Date();
    const doc: WaSessionState = {
      sessionId,
      ...input,
      status: 'disconnected',
      statusChangedAt: now,
      initialStatus: true,
      createdAt: now,
      updatedAt: now,
    };
    this.docs.set(sessionId, doc);
    return copy(doc);
  }

  async findBySessionId(sessionId: string) {
    const doc = this.docs.get(sessionId);
    return doc ? copy(doc) : null;
  }

  async listByOrganization(organizationId: string) {
    return [...this.docs.values()].filter((d) => d.organizationId === organizationId).map(copy);
  }

  async listByStatusNotIn(statuses: WaSessionStatus[]) {
    return [...this.docs.values()].filter((d) => !statuses.includes(d.status)).map(copy);
  }

  async listUnleasedByStatusNotIn(statuses: WaSessionStatus[]) {
    return (await this.listByStatusNotIn(statuses)).filter(
      (d) => !d.lease || d.lease.expiresAt <= this.now(),
    );
  }

  async listByLastError(lastErrors: string[]) {
    return [...this.docs.values()]
      .filter((d) => d.lastError !== undefined && lastErrors.includes(d.lastError))
      .map(copy);
  }

  async clearLastError(sessionId: string, lastError: string) {
    const doc = this.docs.get(sessionId);
    if (doc?.status === 'disconnected' && doc.lastError === lastError) delete doc.lastError;
  }

  async update(sessionId: string, patch: WaSessionPatch, leaseToken?: string) {
    const doc = this.docs.get(sessionId);
    if (!doc || (leaseToken && doc.lease?.token !== leaseToken)) return null;
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) delete (doc as any)[key];
      else if (value !== undefined) (doc as any)[key] = value;
    }
    doc.updatedAt = new Date();
    return copy(doc);
  }

  async delete(sessionId: string, leaseToken?: string) {
    if (leaseToken && this.docs.get(sessionId)?.lease?.token !== leaseToken) return false;
    return this.docs.delete(sessionId);
  }

  readonly deletionNotes = new Map<string, WaSessionDeletionNote>();
  private readonly deletionKey = (n: WaSessionDeletionNote) =>
    `${n.sessionId}:${n.sessionCreatedAt.getTime()}`;

  async noteDeletion(note: WaSessionDeletionNote) {
    this.deletionNotes.set(this.deletionKey(note), structuredClone(note));
  }

  async listDeletionNotes(before: Date) {
    return [...this.deletionNotes.values()]
      .filter((n) => n.at < before)
      .map((n) => structuredClone(n));
  }

  async dropDeletionNote(note: WaSessionDeletionNote) {
    this.deletionNotes.delete(this.deletionKey(note));
  }

  /** The database's clock: this process's, unless a test sets it off (an instance's clock then is). */
  now = (): Date => new Date();

  async acquireLease(sessionId: string, owner: string, ttlMs: number) {
    const now = this.now();
    const doc = this.docs.get(sessionId);
    if (!doc) return null;
    const free = !doc.lease || doc.lease.expiresAt <= now || doc.lease.owner === owner;
    if (!free) return null;
    const token = randomUUID();
    doc.lease = { owner, token, expiresAt: new Date(now.getTime() + ttlMs) };
    // As MongoSessionStateStore's: past every earlier take, and past the clock in ms.
    doc.leaseEpoch = Math.max((doc.leaseEpoch ?? 0) + 1, now.getTime());
    return { sessionId, token, epoch: doc.leaseEpoch, expiresAt: doc.lease.expiresAt };
  }

  async renewLeases(leases: LeaseGrant[], owner: string, ttlMs: number) {
    const kept: LeaseGrant[] = [];
    for (const { sessionId, token } of leases) {
      const lease = this.docs.get(sessionId)?.lease;
      if (lease?.owner !== owner || lease.token !== token) continue;
      lease.expiresAt = new Date(this.now().getTime() + ttlMs);
      const epoch = this.docs.get(sessionId)!.leaseEpoch!;
      kept.push({ sessionId, token, epoch, expiresAt: lease.expiresAt });
    }
    return kept;
  }

  async listUnannounced(before: Date) {
    return [...this.docs.values()]
      .filter((d) => d.announcing && d.announcing.at < before)
      .map(copy);
  }

  async clearAnnouncement(sessionId: string, at: Date) {
    const doc = this.docs.get(sessionId);
    if (doc?.announcing?.at.getTime() === at.getTime()) delete doc.announcing;
  }

  async releaseLease(sessionId: string, token: string) {
    const doc = this.docs.get(sessionId);
    if (doc?.lease?.token === token) delete doc.lease;
  }

  async isLeasedElsewhere(sessionId: string, instanceId: string) {
    const lease = this.docs.get(sessionId)?.lease;
    return !!lease && lease.owner !== instanceId && lease.expiresAt > this.now();
  }

  async askHolder(ask: LeftRequest) {
    const { expiresAt, ...kept } = ask;
    void expiresAt;
    this.requests.set(ask.id, structuredClone(kept));
  }

  async takeHolderRequests(sessionIds: string[], takenBy: string, connected: string[]) {
    const open = [...this.requests.values()].filter(
      (r) =>
        sessionIds.includes(r.sessionId) &&
        !r.takenBy &&
        !r.withdrawn &&
        (r.told ? connected.includes(r.sessionId) : r.askedBy !== takenBy),
    );
    for (const r of open) r.takenBy = takenBy;
    return open.map(({ id, sessionId, request }) => structuredClone({ id, sessionId, request }));
  }

  async answerHolderRequest(id: string, answer: HolderAnswer) {
    const request = this.requests.get(id);
    if (request) request.answer = structuredClone(answer);
  }

  async holderAnswer(id: string) {
    const answer = this.requests.get(id)?.answer;
    return answer && structuredClone(answer);
  }

  async withdrawHolderRequest(id: string) {
    const request = this.requests.get(id);
    if (!request || request.takenBy) return false;
    request.withdrawn = true;
    return true;
  }
}
