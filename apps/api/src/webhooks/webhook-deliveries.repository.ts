import { isDuplicateKeyError } from '@app/common';
import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model, type QueryFilter, Types } from 'mongoose';
import { type DeliveryStatus, WebhookDelivery } from './schemas/webhook-delivery.schema';

export type DeliveryRecord = WebhookDelivery & { _id: Types.ObjectId };

export interface NewDelivery {
  organizationId: string;
  webhookId: Types.ObjectId;
  eventId: Types.ObjectId;
  /** The event's sequence number, when it has one (see WebhookDelivery.eventSeq). */
  eventSeq?: number;
  eventType: string;
  sessionName: string;
}

/** The deliveries of one webhook for one session, walked in order; scheduled by organization. */
export interface Lane {
  organizationId: string;
  webhookId: string;
  sessionName: string;
}

export interface AttemptOutcome {
  attempts: number;
  at: Date;
  responseCode?: number;
  error?: string;
  durationMs: number;
}

const UNFINISHED: DeliveryStatus[] = ['pending', 'delivering'];
const asId = (id: string) => (/^[0-9a-f]{24}$/i.test(id) ? new Types.ObjectId(id) : null);

@Injectable()
export class WebhookDeliveriesRepository {
  constructor(@InjectModel(WebhookDelivery.name) private readonly model: Model<WebhookDelivery>) {}

  /** Idempotent: a (webhook, event) pair that already has a row is skipped. */
  async insertMany(rows: NewDelivery[], now: Date): Promise<void> {
    if (!rows.length) return;
    const docs = rows.map((r) => ({
      ...r,
      status: 'pending',
      attempts: 0,
      nextAttemptAt: now,
      windowStart: now,
      createdAt: now,
      updatedAt: now,
    }));
    try {
      await this.model.collection.insertMany(docs, { ordered: false });
    } catch (err) {
      const writeErrors = (err as { writeErrors?: unknown[] }).writeErrors;
      const errors = Array.isArray(writeErrors) ? writeErrors : [err];
      if (
        !errors.every(
          (e) => isDuplicateKeyError(e) || isDuplicateKeyError((e as { err?: unknown }).err),
        )
      )
        throw err;
    }
  }

  /**
   * The oldest unfinished deliveries of a lane, in event order (the organization's sequence, which
   * instances' clocks do not skew; rows without a number first, by id, as they are older): the
   * first is the only one that may be attempted; the worker walks the rest in turn without
   * re-reading (new rows only come after).
   */
  laneHeads(lane: Lane, limit: number): Promise<DeliveryRecord[]> {
    return this.model
      .find({
        webhookId: new Types.ObjectId(lane.webhookId),
        sessionName: lane.sessionName,
        status: { $in: UNFINISHED },
      })
      .sort({ eventSeq: 1, eventId: 1 })
      .limit(limit)
      .lean<DeliveryRecord[]>()
      .exec();
  }

  /** pending and due → delivering, with a lease held by `owner` (multi-instance safe). */
  claim(
    id: Types.ObjectId,
    now: Date,
    leaseUntil: Date,
    owner: string,
  ): Promise<DeliveryRecord | null> {
    return this.model
      .findOneAndUpdate(
        { _id: id, status: 'pending', nextAttemptAt: { $lte: now } },
        { $set: { status: 'delivering', leaseUntil, leaseOwner: owner, lastAttemptAt: now } },
        { returnDocument: 'after' },
      )
      .lean<DeliveryRecord>()
      .exec();
  }

  async markDelivered(id: Types.ObjectId, o: AttemptOutcome): Promise<void> {
    await this.model
      .updateOne(
        { _id: id, status: 'delivering' },
        {
          $set: { status: 'delivered', deliveredAt: o.at, ...this.outcome(o).$set },
          $unset: { leaseUntil: 1, leaseOwner: 1, lastError: 1, ...this.outcome(o).$unset },
        },
      )
      .exec();
  }

  async markRetry(id: Types.ObjectId, o: AttemptOutcome, nextAttemptAt: Date): Promise<void> {
    await this.model
      .updateOne(
        { _id: id, status: 'delivering' },
        {
          $set: { status: 'pending', nextAttemptAt, ...this.outcome(o).$set },
          $unset: { leaseUntil: 1, leaseOwner: 1, ...this.outcome(o).$unset },
        },
      )
      .exec();
  }

  async markFailed(id: Types.ObjectId, o: AttemptOutcome): Promise<void> {
    await this.model
      .updateOne(
        { _id: id, status: { $in: UNFINISHED } },
        {
          $set: { status: 'failed', failedAt: o.at, ...this.outcome(o).$set },
          $unset: { leaseUntil: 1, leaseOwner: 1, ...this.outcome(o).$unset },
        },
      )
      .exec();
  }

  /** An attempt that was interrupted (shutdown) goes back to pending, uncounted. */
  async release(id: Types.ObjectId, now: Date): Promise<void> {
    await this.model
      .updateOne(
        { _id: id, status: 'delivering' },
        {
          $set: { status: 'pending', nextAttemptAt: now },
          $unset: { leaseUntil: 1, leaseOwner: 1 },
        },
      )
      .exec();
  }

  /** Claims whose holder died (crash) become pending again. */
  async recoverExpiredLeases(now: Date): Promise<number> {
    const res = await this.model
      .updateMany(
        { status: 'delivering', leaseUntil: { $lt: now } },
        {
          $set: { status: 'pending', nextAttemptAt: now },
          $unset: { leaseUntil: 1, leaseOwner: 1 },
        },
      )
      .exec();
    return res.modifiedCount;
  }

  /**
   * At boot, before this process claims anything: the claims held under its own instance id were
   * left by its previous run (a crash, or a shutdown that could not release them), whose attempts
   * are over. They become pending now instead of when their lease runs out, which held up every
   * later event of their lanes. Other instances' claims are left to their leases.
   */
  async releaseClaimsOf(owner: string, now: Date): Promise<number> {
    const res = await this.model
      .updateMany(
        { status: 'delivering', leaseOwner: owner },
        {
          $set: { status: 'pending', nextAttemptAt: now },
          $unset: { leaseUntil: 1, leaseOwner: 1 },
        },
      )
      .exec();
    return res.modifiedCount;
  }

  /**
   * Up to `maxLanes` lanes with a due pending delivery (the worker runs each lane from its head),
   * at most `perOrganization` of one organization, none of `skipOrganizations`. Due rows are read a
   * page at a time, each page leaving out the lanes already found and the organizations that have
   * their share, so neither one lane's backlog nor one organization's many lanes can fill the
   * pages and hide the others. Each page finds at least one new lane.
   */
  async dueLanes(
    now: Date,
    maxLanes: number,
    { perOrganization = maxLanes, skipOrganizations = new Set<string>(), pageSize = 500 } = {},
  ): Promise<Lane[]> {
    const lanes = new Map<string, Lane>();
    const found: Array<{ webhookId: Types.ObjectId; sessionName: string | null }> = [];
    const perOrganizationFound = new Map<string, number>();
    const skipped = new Set(skipOrganizations);
    while (lanes.size < maxLanes) {
      const rows = await this.model
        .find(
          {
            status: 'pending',
            nextAttemptAt: { $lte: now },
            ...(skipped.size ? { organizationId: { $nin: [...skipped] } } : {}),
            ...(found.length ? { $nor: found } : {}),
          },
          { organizationId: 1, webhookId: 1, sessionName: 1 },
        )
        .limit(pageSize)
        .lean<Array<{ organizationId: string; webhookId: Types.ObjectId; sessionName?: string }>>()
        .exec();
      if (rows.length === 0) break;
      for (const row of rows) {
        const key = `${row.webhookId}|${row.sessionName ?? ''}`;
        if (lanes.has(key) || lanes.size >= maxLanes || skipped.has(row.organizationId)) continue;
        const ofOrganization = (perOrganizationFound.get(row.organizationId) ?? 0) + 1;
        perOrganizationFound.set(row.organizationId, ofOrganization);
        if (ofOrganization >= perOrganization) skipped.add(row.organizationId);
        lanes.set(key, {
          organizationId: row.organizationId,
          webhookId: String(row.webhookId),
          sessionName: row.sessionName ?? '',
        });
        // null also matches a row without a session name.
        found.push({ webhookId: row.webhookId, sessionName: row.sessionName ?? null });
      }
    }
    return [...lanes.values()];
  }

  async failPendingOfWebhook(webhookId: Types.ObjectId, error: string, at: Date): Promise<number> {
    const res = await this.model
      .updateMany(
        { webhookId, status: 'pending' },
        { $set: { status: 'failed', failedAt: at, lastError: error }, $unset: { leaseUntil: 1 } },
      )
      .exec();
    return res.modifiedCount;
  }

  async deleteByWebhook(webhookId: Types.ObjectId): Promise<void> {
    await this.model.deleteMany({ webhookId }).exec();
  }

  async listOwned(
    organizationId: string,
    webhookId: Types.ObjectId,
    status: DeliveryStatus | undefined,
    skip: number,
    limit: number,
  ) {
    const filter: QueryFilter<WebhookDelivery> = {
      organizationId,
      webhookId,
      ...(status ? { status } : {}),
    };
    const [items, total] = await Promise.all([
      this.model
        .find(filter)
        .sort({ eventId: -1 })
        .skip(skip)
        .limit(limit)
        .lean<DeliveryRecord[]>()
        .exec(),
      this.model.countDocuments(filter).exec(),
    ]);
    return { items, total };
  }

  /** Makes a finished (or waiting) delivery due now with a fresh retry window. Null when unknown or in flight. */
  requeueOwned(
    organizationId: string,
    webhookId: Types.ObjectId,
    deliveryId: string,
    now: Date,
  ): Promise<DeliveryRecord | null> {
    const _id = asId(deliveryId);
    if (!_id) return Promise.resolve(null);
    return this.model
      .findOneAndUpdate(
        { _id, organizationId, webhookId, status: { $in: ['pending', 'failed', 'delivered'] } },
        {
          $set: { status: 'pending', attempts: 0, nextAttemptAt: now, windowStart: now },
          $unset: { failedAt: 1, deliveredAt: 1 },
        },
        { returnDocument: 'after' },
      )
      .lean<DeliveryRecord>()
      .exec();
  }

  findOwned(
    organizationId: string,
    webhookId: Types.ObjectId,
    deliveryId: string,
  ): Promise<DeliveryRecord | null> {
    const _id = asId(deliveryId);
    return _id
      ? this.model.findOne({ _id, organizationId, webhookId }).lean<DeliveryRecord>().exec()
      : Promise.resolve(null);
  }

  /** The attempt's fields; a missing response code (timeout, network) clears the previous one. */
  private outcome(o: AttemptOutcome): { $set: Record<string, unknown>; $unset: Record<string, 1> } {
    const $set: Record<string, unknown> = { attempts: o.attempts, lastDurationMs: o.durationMs };
    const $unset: Record<string, 1> = {};
    if (o.responseCode !== undefined) $set.lastResponseCode = o.responseCode;
    else $unset.lastResponseCode = 1;
    if (o.error !== undefined) $set.lastError = o.error.slice(0, 500);
    return { $set, $unset };
  }
}
