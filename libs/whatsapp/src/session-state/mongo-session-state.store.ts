import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { randomUUID } from 'node:crypto';
import type { Model } from 'mongoose';
import { insertInFreeSlot, isDuplicateKeyError, usedSlotsOf } from '@app/common';
import { SessionAlreadyExistsError, SessionLimitReachedError } from '../errors';
import type { AskedRequest, HolderAnswer, LeftRequest } from './holder-request';
import { SessionHolderRequest } from './holder-request.schema';
import { SessionDeletionNote } from './session-deletion-note.schema';
import {
  makeSessionId,
  type LeaseGrant,
  type WaSessionDeletionNote,
  type WaSessionPatch,
  type WaSessionState,
  type WaSessionStatus,
} from './session-state';
import type { SessionStateStore } from './session-state.store';
import { WhatsAppSession } from './whatsapp-session.schema';

const PROJECTION = { _id: 0, slot: 0, leaseEpoch: 0 } as const;

/**
 * Leases are dated and judged by the database's clock (`$$NOW`), never by an instance's: an
 * instance whose clock runs ahead would take live leases (two connections for one session), and
 * one whose clock runs behind would write leases that others see run out already.
 */
/** A lease `owner` may take or renew: none, run out, or already its own. */
const leaseFree = (owner: string) => ({
  $or: [
    { lease: { $exists: false } },
    { $expr: { $lte: ['$lease.expiresAt', '$$NOW'] } },
    { 'lease.owner': owner },
  ],
});
/**
 * An update pipeline: `owner`'s lease under `token`, for `ttlMs` from the database's now, and the
 * take's epoch: past every earlier take's, and past the database's now in ms, so a session deleted
 * and created again under its name starts past the epochs its auth rows' fence has seen.
 */
const leaseFor = (owner: string, token: string, ttlMs: number) => [
  {
    $set: {
      leaseEpoch: {
        $max: [
          { $add: [{ $ifNull: ['$leaseEpoch', 0] }, 1] },
          { $subtract: ['$$NOW', new Date(0)] },
        ],
      },
      lease: {
        owner: { $literal: owner },
        token: { $literal: token },
        expiresAt: { $add: ['$$NOW', ttlMs] },
      },
    },
  },
];
type LeasedDoc = {
  sessionId: string;
  lease: { token: string; expiresAt: Date };
  leaseEpoch: number;
};
const LEASED_PROJECTION = { _id: 0, sessionId: 1, lease: 1, leaseEpoch: 1 } as const;
const grantOf = ({ sessionId, lease, leaseEpoch }: LeasedDoc): LeaseGrant => ({
  sessionId,
  token: lease.token,
  epoch: Number(leaseEpoch),
  expiresAt: lease.expiresAt,
});

@Injectable()
export class MongoSessionStateStore implements SessionStateStore {
  constructor(
    @InjectModel(WhatsAppSession.name) private readonly model: Model<WhatsAppSession>,
    @InjectModel(SessionHolderRequest.name)
    private readonly requests: Model<SessionHolderRequest>,
    @InjectModel(SessionDeletionNote.name)
    private readonly deletions: Model<SessionDeletionNote>,
  ) {}

  async create(
    input: { organizationId: string; sessionName: string },
    limit = Number.POSITIVE_INFINITY,
  ): Promise<WaSessionState> {
    const sessionId = makeSessionId(input.organizationId, input.sessionName);
    let created: WaSessionState | undefined;
    try {
      created = await insertInFreeSlot(
        () => usedSlotsOf(this.model.collection, input.organizationId),
        limit,
        async (slot) => {
          const doc = await this.model.create({
            ...input,
            sessionId,
            slot,
            status: 'disconnected',
            statusChangedAt: new Date(),
            initialStatus: true,
          });
          const { _id, slot: _slot, ...plain } = doc.toObject();
          void _id;
          void _slot;
          return plain as WaSessionState;
        },
      );
    } catch (err) {
      if (isDuplicateKeyError(err)) throw new SessionAlreadyExistsError(input.sessionName);
      throw err;
    }
    if (!created) throw new SessionLimitReachedError(limit);
    return created;
  }

  findBySessionId(sessionId: string) {
    return this.model.findOne({ sessionId }, PROJECTION).lean<WaSessionState>().exec();
  }

  listByOrganization(organizationId: string) {
    return this.model
      .find({ organizationId }, PROJECTION)
      .sort({ createdAt: 1 })
      .lean<WaSessionState[]>()
      .exec();
  }

  listByStatusNotIn(statuses: WaSessionStatus[]) {
    return this.model
      .find({ status: { $nin: statuses } }, PROJECTION)
      .lean<WaSessionState[]>()
      .exec();
  }

  listUnleasedByStatusNotIn(statuses: WaSessionStatus[]) {
    return this.model.collection
      .find<WaSessionState>(
        {
          status: { $nin: statuses },
          $or: [{ lease: { $exists: false } }, { $expr: { $lte: ['$lease.expiresAt', '$$NOW'] } }],
        },
        { projection: PROJECTION },
      )
      .toArray();
  }

  listByLastError(lastErrors: string[]) {
    return this.model
      .find({ lastError: { $in: lastErrors } }, PROJECTION)
      .lean<WaSessionState[]>()
      .exec();
  }

  async clearLastError(sessionId: string, lastError: string) {
    await this.model
      .updateOne({ sessionId, status: 'disconnected', lastError }, { $unset: { lastError: 1 } })
      .exec();
  }

  update(sessionId: string, patch: WaSessionPatch, leaseToken?: string) {
    const $set: Record<string, unknown> = {};
    const $unset: Record<string, ''> = {};
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) $unset[key] = '';
      else if (value !== undefined) $set[key] = value;
    }
    return this.model
      .findOneAndUpdate(
        leaseToken ? { sessionId, 'lease.token': leaseToken } : { sessionId },
        { $set, ...(Object.keys($unset).length ? { $unset } : {}) },
        { returnDocument: 'after', projection: PROJECTION },
      )
      .lean<WaSessionState>()
      .exec();
  }

  async delete(sessionId: string, leaseToken?: string) {
    const res = await this.model
      .deleteOne(leaseToken ? { sessionId, 'lease.token': leaseToken } : { sessionId })
      .exec();
    return res.deletedCount > 0;
  }

  async noteDeletion(note: WaSessionDeletionNote) {
    const { sessionId, sessionCreatedAt } = note;
    await this.deletions.replaceOne({ sessionId, sessionCreatedAt }, note, { upsert: true }).exec();
  }

  listDeletionNotes(before: Date) {
    return this.deletions
      .find({ at: { $lt: before } }, { _id: 0 })
      .sort({ at: 1 })
      .lean<WaSessionDeletionNote[]>()
      .exec();
  }

  async dropDeletionNote({ sessionId, sessionCreatedAt }: WaSessionDeletionNote) {
    await this.deletions.deleteOne({ sessionId, sessionCreatedAt }).exec();
  }

  async acquireLease(sessionId: string, owner: string, ttlMs: number) {
    const doc = await this.model.collection.findOneAndUpdate(
      { sessionId, ...leaseFree(owner) },
      leaseFor(owner, randomUUID(), ttlMs),
      { returnDocument: 'after', projection: LEASED_PROJECTION },
    );
    return doc ? grantOf(doc as unknown as LeasedDoc) : null;
  }

  async renewLeases(leases: LeaseGrant[], owner: string, ttlMs: number) {
    if (!leases.length) return [];
    // Tokens are unique: each matches the one session it was taken for.
    const taken = {
      sessionId: { $in: leases.map((l) => l.sessionId) },
      'lease.owner': owner,
      'lease.token': { $in: leases.map((l) => l.token) },
    };
    await this.model.collection.updateMany(taken, [
      { $set: { 'lease.expiresAt': { $add: ['$$NOW', ttlMs] } } },
    ]);
    // Which ones matched: only this owner changes a lease under its token.
    const held = await this.model.collection
      .find<LeasedDoc>(taken, { projection: LEASED_PROJECTION })
      .toArray();
    return held.map(grantOf);
  }

  listUnannounced(before: Date) {
    return this.model
      .find({ 'announcing.at': { $lt: before } }, PROJECTION)
      .lean<WaSessionState[]>()
      .exec();
  }

  async clearAnnouncement(sessionId: string, at: Date) {
    await this.model
      .updateOne(
        { sessionId, 'announcing.at': at },
        { $unset: { announcing: '' } },
        { timestamps: false },
      )
      .exec();
  }

  async releaseLease(sessionId: string, token: string) {
    await this.model
      .updateOne(
        { sessionId, 'lease.token': token },
        { $unset: { lease: '' } },
        { timestamps: false },
      )
      .exec();
  }

  async isLeasedElsewhere(sessionId: string, instanceId: string) {
    const held = await this.model.collection.findOne(
      {
        sessionId,
        'lease.owner': { $exists: true, $ne: instanceId },
        $expr: { $gt: ['$lease.expiresAt', '$$NOW'] },
      },
      { projection: { _id: 1 } },
    );
    return held !== null;
  }

  async askHolder({ id, ...ask }: LeftRequest) {
    await this.requests.create({ _id: id, ...ask, state: 'asked' });
  }

  async takeHolderRequests(sessionIds: string[], takenBy: string, connected: string[]) {
    if (!sessionIds.length) return [];
    // By the held sessions: requests to other holders, a dead one's among them, never stand in
    // the way of these. Never its own asked one: an instance asks only a session held elsewhere,
    // and its poll may have listed the session as held before it found out (then it took its own
    // request, which waited for the lock the asking request holds: answered by neither); its
    // asker runs it itself once the session is no longer held elsewhere. A told one has no asker
    // left to run it: whoever holds the session connected takes it, its teller too (it adopted
    // the session since), and one held but not connected yet waits for a later poll.
    const open = await this.requests
      .find(
        {
          state: 'asked',
          sessionId: { $in: sessionIds },
          $or: [
            { told: { $ne: true }, askedBy: { $ne: takenBy } },
            { told: true, sessionId: { $in: connected } },
          ],
        },
        { sessionId: 1, request: 1 },
      )
      .lean()
      .exec();
    const taken: AskedRequest[] = [];
    for (const { _id, sessionId, request } of open) {
      // Conditional, so of two takers (a lease changing hands) one runs it.
      const res = await this.requests
        .updateOne({ _id, state: 'asked' }, { $set: { state: 'taken', takenBy } })
        .exec();
      if (res.modifiedCount) taken.push({ id: _id, sessionId, request });
    }
    return taken;
  }

  async answerHolderRequest(id: string, answer: HolderAnswer) {
    await this.requests.updateOne({ _id: id }, { $set: { answer } }).exec();
  }

  async holderAnswer(id: string) {
    const doc = await this.requests.findById(id, { answer: 1 }).lean().exec();
    return doc?.answer;
  }

  async withdrawHolderRequest(id: string) {
    const res = await this.requests
      .updateOne({ _id: id, state: 'asked' }, { $set: { state: 'withdrawn' } })
      .exec();
    return res.modifiedCount > 0;
  }
}
