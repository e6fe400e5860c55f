import { Types } from 'mongoose';
import { EventIdGenerator } from '../events/event-id';
import type { EventOutboxService } from '../events/event-outbox.service';
import type { StoredEvent } from '../events/events.types';
import type { WebhookDeliveriesRepository } from './webhook-deliveries.repository';
import { WebhookDirectory } from './webhook-directory';
import type { WebhookDispatcher } from './webhook-dispatcher';
import { WebhookFanoutService } from './webhook-fanout.service';
import type { WebhookRecord, WebhooksRepository } from './webhooks.repository';

describe('WebhookFanoutService', () => {
  it("fans a recovered batch out to a webhook created before its events, whatever the clock of the events' instance", async () => {
    const stored: WebhookRecord[] = [];
    const outbox = { registerSubscriber: vi.fn(), changeSubscriptions: vi.fn() };
    const directory = new WebhookDirectory(
      { listByOrganization: async () => [...stored] } as unknown as WebhooksRepository,
      outbox as unknown as EventOutboxService,
    );
    const deliveries = { insertMany: vi.fn() };
    const fanout = new WebhookFanoutService(
      outbox as unknown as EventOutboxService,
      directory,
      deliveries as unknown as WebhookDeliveriesRepository,
      { remember: vi.fn(), kick: vi.fn() } as unknown as WebhookDispatcher,
    );

    // This instance's worker read the organization's webhooks (none yet) a moment ago.
    expect(await directory.get('org', 'any')).toBeUndefined();
    // Then a webhook was created on another instance, after the organization's event 41 ...
    const hook = {
      _id: new Types.ObjectId(),
      organizationId: 'org',
      url: 'https://receiver.example/hook',
      events: ['*'],
      enabled: true,
      secret: 'sealed',
      sinceSeq: 41,
      createdAt: new Date(),
      updatedAt: new Date(),
    } satisfies WebhookRecord;
    stored.push(hook);
    // ... and event 42 was stored by an instance whose clock runs 10 s behind; its own fan-out
    // failed, and this instance's recovery pass takes the batch.
    const behind = new EventIdGenerator(() => Date.now() - 10_000);
    const event: StoredEvent = {
      id: behind.next(),
      seq: 42,
      type: 'message.received',
      organizationId: 'org',
      sessionName: 'main',
      occurredAt: new Date(),
      data: {},
    };
    await fanout.fanOut([event]);
    expect(deliveries.insertMany).toHaveBeenCalledWith(
      [expect.objectContaining({ webhookId: hook._id, eventId: new Types.ObjectId(event.id) })],
      expect.any(Date),
    );
  });
});
