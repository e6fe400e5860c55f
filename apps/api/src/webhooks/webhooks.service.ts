import { type Page, skipFor, resolveAllowedTarget, UrlNotAllowedError } from '@app/common';
import { Inject, Injectable } from '@nestjs/common';
import type { UpdateQuery } from 'mongoose';
import { EventOutboxService } from '../events/event-outbox.service';
import type {
  CreatedWebhookResponseDto,
  CreateWebhookDto,
  DeliveryPageDto,
  DeliveryResponseDto,
  ListDeliveriesQueryDto,
  UpdatedWebhookResponseDto,
  UpdateWebhookDto,
  WebhookResponseDto,
} from './dto/webhook.dto';
import type { Webhook } from './schemas/webhook.schema';
import { type DeliveryRecord, WebhookDeliveriesRepository } from './webhook-deliveries.repository';
import { WebhookDirectory } from './webhook-directory';
import { WebhookDispatcher } from './webhook-dispatcher';
import { keepStoredPassword, toDeliveryDto, toWebhookDto } from './webhook.mapper';
import { generateWebhookSecret } from './webhook-signature';
import {
  DeliveryEventExpiredError,
  DeliveryInFlightError,
  DeliveryNotFoundError,
  WebhookDisabledError,
  WebhookLimitReachedError,
  WebhookNotFoundError,
  WebhookUrlNotAllowedError,
} from './webhooks.errors';
import { WEBHOOK_OPTIONS, type WebhookOptions } from './webhooks.options';
import { type WebhookRecord, WebhooksRepository } from './webhooks.repository';

/** ['*'] absorbs everything else; otherwise the listed types, in a stable order. */
const normalizeEvents = (events: string[]) =>
  events.includes('*') ? ['*'] : [...new Set(events)].sort();

@Injectable()
export class WebhooksService {
  constructor(
    private readonly webhooks: WebhooksRepository,
    private readonly deliveries: WebhookDeliveriesRepository,
    private readonly directory: WebhookDirectory,
    private readonly dispatcher: WebhookDispatcher,
    private readonly outbox: EventOutboxService,
    @Inject(WEBHOOK_OPTIONS) private readonly options: WebhookOptions,
  ) {}

  async create(organizationId: string, dto: CreateWebhookDto): Promise<CreatedWebhookResponseDto> {
    await this.assertUrlAllowed(dto.url);
    const limit = this.options.maxWebhooksPerOrganization;
    const secret = generateWebhookSecret();
    const created = await this.webhooks.createWithin(limit, {
      organizationId,
      // Read before the insert: an event numbered after it may be one the webhook existed for.
      sinceSeq: await this.outbox.lastSequence(organizationId),
      url: dto.url,
      events: normalizeEvents(dto.events),
      sessionName: dto.sessionName ?? undefined, // null or absent: all sessions
      enabled: dto.enabled ?? true,
      secret: this.options.secrets.seal(secret),
    });
    if (!created) throw new WebhookLimitReachedError(limit);
    await this.directory.changed(organizationId);
    return { ...toWebhookDto(created), secret };
  }

  async list(organizationId: string): Promise<WebhookResponseDto[]> {
    return (await this.webhooks.listByOrganization(organizationId)).map(toWebhookDto);
  }

  async get(organizationId: string, id: string): Promise<WebhookResponseDto> {
    return toWebhookDto(await this.getOwned(organizationId, id));
  }

  async update(
    organizationId: string,
    id: string,
    dto: UpdateWebhookDto,
  ): Promise<UpdatedWebhookResponseDto> {
    const current = await this.getOwned(organizationId, id);
    if (dto.url !== undefined) await this.assertUrlAllowed(dto.url);
    const $set: Partial<Webhook> = {};
    const $unset: Record<string, 1> = {};
    if (dto.url !== undefined) $set.url = keepStoredPassword(dto.url, current.url);
    if (dto.events !== undefined) $set.events = normalizeEvents(dto.events);
    if (dto.sessionName === null) $unset.sessionName = 1;
    else if (dto.sessionName !== undefined) $set.sessionName = dto.sessionName;
    if (dto.enabled !== undefined) $set.enabled = dto.enabled;
    if (dto.enabled === true && !current.enabled)
      Object.assign($unset, { disabledReason: 1, disabledAt: 1, failingSince: 1 });
    const secret = dto.rotateSecret ? generateWebhookSecret() : undefined;
    if (secret) $set.secret = this.options.secrets.seal(secret);
    const update: UpdateQuery<Webhook> = {};
    if (Object.keys($set).length) update.$set = $set;
    if (Object.keys($unset).length) update.$unset = $unset;
    const updated = Object.keys(update).length
      ? await this.webhooks.updateOwned(organizationId, id, update)
      : current;
    if (!updated) throw new WebhookNotFoundError();
    await this.directory.changed(organizationId);
    if (dto.enabled === false && current.enabled)
      await this.deliveries.failPendingOfWebhook(updated._id, 'Webhook disabled', new Date());
    return { ...toWebhookDto(updated), ...(secret ? { secret } : {}) };
  }

  async remove(organizationId: string, id: string): Promise<void> {
    const hook = await this.getOwned(organizationId, id);
    if (!(await this.webhooks.deleteOwned(organizationId, id))) throw new WebhookNotFoundError();
    await this.directory.changed(organizationId);
    await this.deliveries.deleteByWebhook(hook._id);
  }

  async listDeliveries(
    organizationId: string,
    id: string,
    query: ListDeliveriesQueryDto,
  ): Promise<DeliveryPageDto> {
    const hook = await this.getOwned(organizationId, id);
    const { items, total } = await this.deliveries.listOwned(
      organizationId,
      hook._id,
      query.status,
      skipFor(query),
      query.limit,
    );
    const page: Page<DeliveryResponseDto> = {
      items: items.map(toDeliveryDto),
      total,
      page: query.page,
      limit: query.limit,
    };
    return page;
  }

  /** Makes a delivery due now (fresh 24 h window); it still waits for older events of its session. */
  async retryDelivery(
    organizationId: string,
    id: string,
    deliveryId: string,
  ): Promise<DeliveryResponseDto> {
    const hook = await this.getOwned(organizationId, id);
    if (!hook.enabled) throw new WebhookDisabledError();
    const delivery = await this.deliveries.findOwned(organizationId, hook._id, deliveryId);
    if (!delivery) throw new DeliveryNotFoundError();
    // Requeued without its event, the delivery would be answered 202 and then fail.
    const eventId = String(delivery.eventId);
    if (!(await this.outbox.findById(eventId))) throw new DeliveryEventExpiredError(eventId);
    const requeued = await this.deliveries.requeueOwned(
      organizationId,
      hook._id,
      deliveryId,
      new Date(),
    );
    if (!requeued) {
      const inFlight = await this.deliveries.findOwned(organizationId, hook._id, deliveryId);
      if (inFlight) throw new DeliveryInFlightError(this.secondsLeftOfAttempt(inFlight));
      throw new DeliveryNotFoundError(); // the webhook was deleted meanwhile
    }
    this.dispatcher.kick([
      {
        organizationId,
        webhookId: String(hook._id),
        sessionName: requeued.sessionName,
      },
    ]);
    return toDeliveryDto(requeued);
  }

  /** Until the attempt in flight times out (at least 1 s): it is over by then. */
  private secondsLeftOfAttempt(delivery: DeliveryRecord): number {
    const startedAt = delivery.lastAttemptAt?.getTime() ?? Date.now();
    return Math.max(1, Math.ceil((startedAt + this.options.timeoutMs - Date.now()) / 1000));
  }

  private async getOwned(organizationId: string, id: string): Promise<WebhookRecord> {
    const hook = await this.webhooks.findOwned(organizationId, id);
    if (!hook) throw new WebhookNotFoundError();
    return hook;
  }

  private async assertUrlAllowed(url: string): Promise<void> {
    try {
      await resolveAllowedTarget(url, this.options.allowList, this.options.resolver);
    } catch (err) {
      if (err instanceof UrlNotAllowedError)
        throw new WebhookUrlNotAllowedError(err.message, err.reason);
      throw err;
    }
  }
}
