import { Injectable } from '@nestjs/common';
import { ExpiringCache } from '@app/common';
import { type WebhookRecord, WebhooksRepository } from './webhooks.repository';

const TTL_MS = 5_000;
const CAPACITY = 10_000;

/**
 * The organizations' webhooks, cached briefly for the hot paths (fan-out per event batch, the
 * worker per attempt). Writes through WebhooksService invalidate at once; other instances see
 * changes within TTL_MS. The cached value is the query itself, so concurrent misses share one read.
 */
@Injectable()
export class WebhookDirectory {
  private readonly cache = new ExpiringCache<{ hooks: Promise<WebhookRecord[]>; readAt: number }>(
    TTL_MS,
    CAPACITY,
  );

  constructor(private readonly webhooks: WebhooksRepository) {}

  /**
   * `since` (epoch ms): the list must be read at that time or later. A list read before an event
   * may lack a webhook another instance created or enabled in between (its own invalidation reaches
   * only its cache), which would lose the event for that webhook: the fan-out passes the time of
   * its newest event.
   */
  list(organizationId: string, since = 0): Promise<WebhookRecord[]> {
    const hit = this.cache.get(organizationId);
    if (hit && hit.readAt >= since) return hit.hooks;
    const readAt = Date.now();
    const hooks = this.webhooks.listByOrganization(organizationId);
    this.cache.set(organizationId, { hooks, readAt });
    hooks.catch(() => {
      if (this.cache.get(organizationId)?.hooks === hooks) this.cache.delete(organizationId);
    });
    return hooks;
  }

  async get(organizationId: string, webhookId: string): Promise<WebhookRecord | undefined> {
    return (await this.list(organizationId)).find((h) => String(h._id) === webhookId);
  }

  invalidate(organizationId: string): void {
    this.cache.delete(organizationId);
  }
}
