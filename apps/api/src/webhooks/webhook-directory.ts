import { Injectable } from '@nestjs/common';
import { ExpiringCache } from '@app/common';
import { EventOutboxService } from '../events/event-outbox.service';
import { type WebhookRecord, WebhooksRepository } from './webhooks.repository';

const TTL_MS = 5_000;
/**
 * How long a list read for a subscriptions version may serve the fan-out. The version alone says
 * when to read again; this only bounds how long a webhook write whose version change failed (the
 * request answered 500) stays unseen by other instances.
 */
const VERSIONED_TTL_MS = 60_000;
const CAPACITY = 10_000;

interface CachedList {
  hooks: Promise<WebhookRecord[]>;
  readAt: number;
}

/**
 * The organizations' webhooks, cached for the hot paths (fan-out per event batch, the worker per
 * attempt). The cached value is the query itself, so concurrent misses share one read.
 *
 * Every webhook write changes the organization's subscriptions version (`changed`, in the request,
 * before it answers), kept on the row its event batches reserve their numbers on: a live batch
 * knows whether its list may have changed on any instance since the last read, and the fan-out
 * reads again only then (`listAt`). The worker's lookups (`list`, `get`) see other instances'
 * changes within TTL_MS.
 */
@Injectable()
export class WebhookDirectory {
  private readonly cache = new ExpiringCache<CachedList>(TTL_MS, CAPACITY);
  private readonly byVersion = new ExpiringCache<CachedList & { version: string | null }>(
    VERSIONED_TTL_MS,
    CAPACITY,
  );

  constructor(
    private readonly webhooks: WebhooksRepository,
    private readonly outbox: EventOutboxService,
  ) {}

  /**
   * The list for a live event batch whose reservation saw `version`. A list read for the same
   * version has every webhook written before that version was set, i.e. every one written before
   * the batch reserved its numbers: it is reused; another version means a write since, read again.
   */
  listAt(organizationId: string, version: string | null): Promise<WebhookRecord[]> {
    const hit = this.byVersion.get(organizationId);
    if (hit && hit.version === version) return hit.hooks;
    const read = this.read(organizationId);
    this.byVersion.set(organizationId, { ...read, version });
    this.forgetIfFailed(this.byVersion, organizationId, read.hooks);
    return read.hooks;
  }

  /** The worker's lookups: within TTL_MS of another instance's changes. */
  list(organizationId: string): Promise<WebhookRecord[]> {
    const hit = this.cache.get(organizationId);
    return hit ? hit.hooks : this.read(organizationId).hooks;
  }

  /**
   * Read now: for the fan-out recovery, whose batches have no version. Whether a cached list was
   * read after their events cannot be told: an event id's time is the clock of the instance that
   * stored it, which may run behind this one's.
   */
  fresh(organizationId: string): Promise<WebhookRecord[]> {
    return this.read(organizationId).hooks;
  }

  async get(organizationId: string, webhookId: string): Promise<WebhookRecord | undefined> {
    return (await this.list(organizationId)).find((h) => String(h._id) === webhookId);
  }

  /**
   * After writing a webhook, before answering: every event batch reserved from now on, on any
   * instance, reads the organization's webhooks again.
   */
  async changed(organizationId: string): Promise<void> {
    this.invalidate(organizationId);
    await this.outbox.changeSubscriptions(organizationId);
  }

  /** This instance's worker reads the webhooks again (fields the fan-out does not match on changed). */
  invalidate(organizationId: string): void {
    this.cache.delete(organizationId);
  }

  /** Reads the list now; the worker's cache gets it too. */
  private read(organizationId: string): CachedList {
    const entry = { hooks: this.webhooks.listByOrganization(organizationId), readAt: Date.now() };
    this.cache.set(organizationId, entry);
    this.forgetIfFailed(this.cache, organizationId, entry.hooks);
    return entry;
  }

  private forgetIfFailed(
    cache: ExpiringCache<CachedList>,
    organizationId: string,
    hooks: Promise<WebhookRecord[]>,
  ): void {
    hooks.catch(() => {
      if (cache.get(organizationId)?.hooks === hooks) cache.delete(organizationId);
    });
  }
}
