import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import { SessionAlreadyExistsError } from '../errors';
import type { AskedRequest, HolderAnswer } from './holder-request';
import { SessionHolderRequest } from './holder-request.schema';
import {
  makeSessionId,
  type WaSessionPatch,
  type WaSessionState,
  type WaSessionStatus,
} from './session-state';
import type { SessionStateStore } from './session-state.store';
import { WhatsAppSession } from './whatsapp-session.schema';

const PROJECTION = { _id: 0 } as const;
const isDuplicateKey = (err: unknown) => (err as { code?: number })?.code === 11000;

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
/** An update pipeline: `owner`'s lease, for `ttlMs` from the database's now. */
const leaseFor = (owner: string, ttlMs: number) => [
  { $set: { lease: { owner: { $literal: owner }, expiresAt: { $add: ['$$NOW', ttlMs] } } } },
];

@Injectable()
export class MongoSessionStateStore implements SessionStateStore {
  constructor(
    @InjectModel(WhatsAppSession.name) private readonly model: Model<WhatsAppSession>,
    @InjectModel(SessionHolderRequest.name)
    private readonly requests: Model<SessionHolderRequest>,
  ) {}

  async create(input: { organizationId: string; sessionName: string }): Promise<WaSessionState> {
    const sessionId = makeSessionId(input.organizationId, input.sessionName);
    try {
      const doc = await this.model.create({
        ...input,
        sessionId,
        status: 'disconnected',
        statusChangedAt: new Date(),
        initialStatus: true,
      });
      const { _id, ...plain } = doc.toObject();
      void _id;
      return plain as WaSessionState;
    } catch (err) {
      if (isDuplicateKey(err)) throw new SessionAlreadyExistsError(input.sessionName);
      throw err;
    }
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

  countByOrganization(organizationId: string) {
    return this.model.countDocuments({ organizationId }).exec();
  }

  async creationRank(sessionId: string) {
    const own = await this.model
      .findOne({ sessionId }, { _id: 1, organizationId: 1 })
      .lean()
      .exec();
    if (!own) return 0;
    // ObjectIds grow in the order documents are created.
    return this.model
      .countDocuments({ organizationId: own.organizationId, _id: { $lte: own._id } })
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

  update(sessionId: string, patch: WaSessionPatch, leaseOwner?: string) {
    const $set: Record<string, unknown> = {};
    const $unset: Record<string, ''> = {};
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) $unset[key] = '';
      else if (value !== undefined) $set[key] = value;
    }
    return this.model
      .findOneAndUpdate(
        leaseOwner
          ? { sessionId, $or: [{ lease: { $exists: false } }, { 'lease.owner': leaseOwner }] }
          : { sessionId },
        { $set, ...(Object.keys($unset).length ? { $unset } : {}) },
        { returnDocument: 'after', projection: PROJECTION },
      )
      .lean<WaSessionState>()
      .exec();
  }

  async delete(sessionId: string) {
    const res = await this.model.deleteOne({ sessionId }).exec();
    return res.deletedCount > 0;
  }

  async acquireLease(sessionId: string, owner: string, ttlMs: number) {
    const res = await this.model.collection.updateOne(
      { sessionId, ...leaseFree(owner) },
      leaseFor(owner, ttlMs),
    );
    return res.matchedCount > 0;
  }

  async renewLeases(sessionIds: string[], owner: string, ttlMs: number) {
    if (!sessionIds.length) return [];
    const sessionId = { $in: sessionIds };
    await this.model.collection.updateMany(
      { sessionId, ...leaseFree(owner) },
      leaseFor(owner, ttlMs),
    );
    // Which ones matched: a lease just renewed is not free, so no other instance took it since.
    const held = await this.model
      .find({ sessionId, 'lease.owner': owner }, { _id: 0, sessionId: 1 })
      .lean<Array<{ sessionId: string }>>()
      .exec();
    return held.map((d) => d.sessionId);
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

  async releaseLease(sessionId: string, owner: string) {
    await this.model
      .updateOne(
        { sessionId, 'lease.owner': owner },
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

  async askHolder({ id, ...ask }: AskedRequest & { askedBy: string; expiresAt: Date }) {
    await this.requests.create({ _id: id, ...ask, state: 'asked' });
  }

  async takeHolderRequests(sessionIds: string[], takenBy: string) {
    if (!sessionIds.length) return [];
    // By the held sessions: requests to other holders, a dead one's among them, never stand in
    // the way of these.
    const open = await this.requests
      .find({ state: 'asked', sessionId: { $in: sessionIds } }, { sessionId: 1, request: 1 })
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
