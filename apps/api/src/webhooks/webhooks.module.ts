import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import {
  APP_CONFIG,
  type AppConfig,
  ObsoleteIndexes,
  OrganizationSlotsBackfill,
} from '@app/common';
import { EventsModule } from '../events/events.module';
import {
  OBSOLETE_DELIVERY_INDEXES,
  WebhookDelivery,
  WebhookDeliverySchema,
} from './schemas/webhook-delivery.schema';
import { Webhook, WebhookSchema } from './schemas/webhook.schema';
import { WebhookDeliveriesRepository } from './webhook-deliveries.repository';
import { WebhookDirectory } from './webhook-directory';
import { WebhookDispatcher } from './webhook-dispatcher';
import { WebhookFanoutService } from './webhook-fanout.service';
import { WebhooksController } from './webhooks.controller';
import { WEBHOOK_OPTIONS, webhookOptionsFrom } from './webhooks.options';
import { WebhooksRepository } from './webhooks.repository';
import { WebhooksService } from './webhooks.service';

/** Signed webhooks fed by the events outbox: CRUD, fan-out into `webhook_deliveries`, the delivery worker. */
@Module({
  imports: [
    EventsModule,
    MongooseModule.forFeature([
      { name: Webhook.name, schema: WebhookSchema },
      { name: WebhookDelivery.name, schema: WebhookDeliverySchema },
    ]),
  ],
  controllers: [WebhooksController],
  providers: [
    {
      provide: WEBHOOK_OPTIONS,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => webhookOptionsFrom(config),
    },
    WebhooksRepository,
    OrganizationSlotsBackfill.provider(Webhook.name),
    WebhookDeliveriesRepository,
    WebhookDirectory,
    WebhookDispatcher,
    WebhookFanoutService,
    WebhooksService,
    ObsoleteIndexes.provider(WebhookDelivery.name, OBSOLETE_DELIVERY_INDEXES),
  ],
})
export class WebhooksModule {}
