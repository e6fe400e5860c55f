import { SessionAlreadyExistsError } from '../errors';
import {
  makeSessionId,
  type WaSessionPatch,
  type WaSessionState,
  type WaSessionStatus,
} from './session-state';
import type { SessionStateStore } from './session-state.store';

const copy = (s: WaSessionState): WaSessionState => structuredClone(s);

/** Same contract as the MongoDB store, in a Map; for tests. */
export class InMemorySessionStateStore implements SessionStateStore {
  readonly docs = new Map<string, WaSessionState>();

  async create(input: { organizationId: string; sessionName: string }): Promise<WaSessionState> {
    const sessionId = makeSessionId(input.organizationId, input.sessionName);
    if (this.docs.has(sessionId)) throw new SessionAlreadyExistsError(input.sessionName);
    const now = new Date();
    const doc: WaSessionState = {
      sessionId,
      ...input,
      status: 'disconnected',
      statusChangedAt: now,
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

  async countByOrganization(organizationId: string) {
    return (await this.listByOrganization(organizationId)).length;
  }

  async listByStatusNotIn(statuses: WaSessionStatus[]) {
    return [...this.docs.values()].filter((d) => !statuses.includes(d.status)).map(copy);
  }

  async update(sessionId: string, patch: WaSessionPatch) {
    const doc = this.docs.get(sessionId);
    if (!doc) return null;
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) delete (doc as any)[key];
      else if (value !== undefined) (doc as any)[key] = value;
    }
    doc.updatedAt = new Date();
    return copy(doc);
  }

  async delete(sessionId: string) {
    return this.docs.delete(sessionId);
  }

  async acquireLease(sessionId: string, owner: string, ttlMs: number, now: Date) {
    const doc = this.docs.get(sessionId);
    if (!doc) return false;
    const free = !doc.lease || doc.lease.expiresAt <= now || doc.lease.owner === owner;
    if (!free) return false;
    doc.lease = { owner, expiresAt: new Date(now.getTime() + ttlMs) };
    return true;
  }

  async releaseLease(sessionId: string, owner: string) {
    const doc = this.docs.get(sessionId);
    if (doc?.lease?.owner === owner) delete doc.lease;
  }

  async requestContactsResync(sessionId: string, at: Date) {
    const doc = this.docs.get(sessionId);
    if (doc) doc.contactsResyncRequestedAt = at;
  }

  async takeContactsResyncRequests(sessionIds: string[]) {
    return sessionIds.filter((id) => {
      const doc = this.docs.get(id);
      if (!doc?.contactsResyncRequestedAt) return false;
      delete doc.contactsResyncRequestedAt;
      return true;
    });
  }
}
