import { Module } from '@nestjs/common';
import { ObsoleteIndexes } from '@app/common';
import { JwtService } from '@nestjs/jwt';
import { MongooseModule } from '@nestjs/mongoose';
import { AuthModule } from '../auth/auth.module';
import { JWT_ALGORITHM, JWT_SECRET } from '../auth/jwt.strategy';
import { OrganizationsModule } from '../organizations/organizations.module';
import { EventOutboxService } from './event-outbox.service';
import { EVENTS_JWT, EventStreamAuthService } from './event-stream-auth.service';
import { EventSequencesRepository } from './event-sequences.repository';
import { EventStreamService } from './event-stream.service';
import { EventTailService } from './event-tail.service';
import { EventsController } from './events.controller';
import { EventsListener } from './events.listener';
import { defaultEventsOptions, EVENTS_OPTIONS } from './events.options';
import { EventsRepository } from './events.repository';
import { OBSOLETE_EVENT_INDEXES, OutboxEvent, OutboxEventSchema } from './schemas/event.schema';

/**
 * Public events: the durable outbox (`events`), the domain-event listeners that fill it, and the
 * SSE stream. Webhooks subscribe to the outbox through EventOutboxService.
 */
@Module({
  imports: [
    MongooseModule.forFeature([{ name: OutboxEvent.name, schema: OutboxEventSchema }]),
    AuthModule,
    OrganizationsModule,
  ],
  controllers: [EventsController],
  providers: [
    ObsoleteIndexes.provider(OutboxEvent.name, OBSOLETE_EVENT_INDEXES),
    { provide: EVENTS_OPTIONS, useFactory: defaultEventsOptions },
    {
      provide: EVENTS_JWT,
      inject: [JWT_SECRET],
      useFactory: (secret: string) =>
        new JwtService({
          secret,
          signOptions: { algorithm: JWT_ALGORITHM },
          verifyOptions: { algorithms: [JWT_ALGORITHM] },
        }),
    },
    EventsRepository,
    EventSequencesRepository,
    EventOutboxService,
    EventsListener,
    EventStreamAuthService,
    EventTailService,
    EventStreamService,
  ],
  exports: [EventOutboxService],
})
export class EventsModule {}
