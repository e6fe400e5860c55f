import { Injectable } from '@nestjs/common';
import { Types } from 'mongoose';
import { EventOutboxService, type LiveBatch } from '../events/event-outbox.service';
import type { StoredEvent } from '../events/events.types';
import {
  type Lane,
  type NewDelivery,
  WebhookDeliveriesRepository,
} from './webhook-deliveries.repository';
import { WebhookDirectory } from './webhook-directory';
import { WebhookDispatcher } from './webhook-dispatcher';
import { webhookWants } from './webhook-matching';

/**
 * Outbox subscriber: one `webhook_deliveries` row per (matching webhook, event), inserted
 * idempotently (unique webhookId+eventId), then the affected lanes are kicked. Runs in the outbox's
 * per-organization order, so a lane's rows are created in event order.
 */
@Injectable()
export class WebhookFanoutService {
  constructor(
    private readonly outbox: EventOutboxService,
    private readonly directory: WebhookDirectory,
    private readonly deliveries: WebhookDeliveriesRepository,
    private readonly dispatcher: WebhookDispatcher,
  ) {
    this.outbox.registerSubscriber((events, live) => this.fanOut(events, live));
  }

  async fanOut(events: StoredEvent[], live?: LiveBatch): Promise<void> {
    const rows: NewDelivery[] = [];
    const lanes = new Map<string, Lane>();
    const wanted: StoredEvent[] = [];
    const byOrganization = new Map<string, StoredEvent[]>();
    for (const event of events) {
      const list = byOrganization.get(event.organizationId);
      if (list) list.push(event);
      else byOrganization.set(event.organizationId, [event]);
    }
    for (const [organizationId, orgEvents] of byOrganization) {
      // A webhook written (on any instance) before the batch reserved its numbers is in: a live
      // batch's list is read again when the subscriptions version changed, a recovered batch's
      // list is read afresh.
      const hooks =
        live?.organizationId === organizationId
          ? await this.directory.listAt(organizationId, live.subscriptionsVersion)
          : await this.directory.fresh(organizationId);
      if (!hooks.some((h) => h.enabled)) continue;
      for (const event of orgEvents) {
        let matched = false;
        for (const hook of hooks) {
          if (!webhookWants(hook, event)) continue;
          matched = true;
          rows.push({
            organizationId,
            webhookId: hook._id,
            eventId: new Types.ObjectId(event.id),
            ...(event.seq === undefined ? {} : { eventSeq: event.seq }),
            eventType: event.type,
            sessionName: event.sessionName,
          });
          lanes.set(`${hook._id}|${event.sessionName}`, {
            organizationId,
            webhookId: String(hook._id),
            sessionName: event.sessionName,
          });
        }
        if (matched) wanted.push(event);
      }
    }
    if (!rows.length) return;
    this.dispatcher.remember(wanted);
    await this.deliveries.insertMany(rows, new Date());
    this.dispatcher.kick([...lanes.values()]);
  }
}
