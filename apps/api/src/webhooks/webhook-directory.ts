import { Injectable } from '@nestjs/common';
import { ExpiringCache } from '@app/common';
import { type WebhookRecord, WebhooksRepository } from './webhooks.repository';

const TTL_MS = 5_000;
const CAPACITY = 10_000;

/**
 * The organizations' webhooks, cached briefly for the hot paths (fan-out per event, the worker per
 * attempt). Writes through WebhooksService invalidate at once; other instances see changes within
 * TTL_MS. The cached value is the query itself, so concurrent misses share one read.
 */
@Injectable()
export class WebhookDirectory {
  private readonly cache = new ExpiringCache<Promise<WebhookRecord[]>>(TTL_MS, CAPACITY);

  constructor(private readonly webhooks: WebhooksRepository) {}

  list(organizationId: string): Promise<WebhookRecord[]> {
    const hit = this.cache.get(organizationId);
    if (hit) return hit;
    const hooks = this.webhooks.listByOrganization(organizationId);
    this.cache.set(organizationId, hooks);
    hooks.catch(() => this.cache.delete(organizationId));
    return hooks;
  }

  async get(organizationId: string, webhookId: string): Promise<WebhookRecord | undefined> {
    return (await this.list(organizationId)).find((h) => String(h._id) === webhookId);
  }

  invalidate(organizationId: string): void {
    this.cache.delete(organizationId);
  }
}
