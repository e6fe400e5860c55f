import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { ObsoleteIndexes } from '@app/common';
import { ContactsModule } from '../contacts/contacts.module';
import { ContactsService } from '../contacts/contacts.service';
import { LidMergeService } from '../contacts/lid-merge.service';
import { MessageHistoryService } from '../messaging/message-history.service';
import { MessagingModule } from '../messaging/messaging.module';
import { WhatsAppSessionModule } from '../whatsapp-session/whatsapp-session.module';
import { WhatsAppSessionsService } from '../whatsapp-session/whatsapp-session.service';
import { StatsBucket, StatsBucketSchema } from './schemas/stats-bucket.schema';
import { StatsChatWait, StatsChatWaitSchema } from './schemas/stats-chat-wait.schema';
import { StatsCountedNote, StatsCountedNoteSchema } from './schemas/stats-counted-note.schema';
import {
  OBSOLETE_FAILURE_REASON_INDEXES,
  StatsFailureReason,
  StatsFailureReasonSchema,
} from './schemas/stats-failure-reason.schema';
import { StatsMessageState, StatsMessageStateSchema } from './schemas/stats-message-state.schema';
import {
  OBSOLETE_RESPONSE_SAMPLE_INDEXES,
  StatsResponseSample,
  StatsResponseSampleSchema,
} from './schemas/stats-response-sample.schema';
import { StatsController } from './stats.controller';
import {
  STATS_CONTACTS_SOURCE,
  STATS_LID_SOURCE,
  STATS_MESSAGES_SOURCE,
  STATS_SESSIONS_SOURCE,
} from './stats.ports';
import { StatsRecorder } from './stats-recorder.service';
import { StatsRepository } from './stats.repository';
import { STATS_CLOCK, StatsService } from './stats.service';

/** GET /whatsapp/stats from counters that StatsRecorder maintains from messaging events. */
@Module({
  imports: [
    MongooseModule.forFeature([
      { name: StatsBucket.name, schema: StatsBucketSchema },
      { name: StatsMessageState.name, schema: StatsMessageStateSchema },
      { name: StatsCountedNote.name, schema: StatsCountedNoteSchema },
      { name: StatsFailureReason.name, schema: StatsFailureReasonSchema },
      { name: StatsChatWait.name, schema: StatsChatWaitSchema },
      { name: StatsResponseSample.name, schema: StatsResponseSampleSchema },
    ]),
    WhatsAppSessionModule,
    ContactsModule,
    MessagingModule,
  ],
  controllers: [StatsController],
  providers: [
    StatsRepository,
    StatsService,
    StatsRecorder,
    { provide: STATS_SESSIONS_SOURCE, useExisting: WhatsAppSessionsService },
    { provide: STATS_CONTACTS_SOURCE, useExisting: ContactsService },
    { provide: STATS_MESSAGES_SOURCE, useExisting: MessageHistoryService },
    { provide: STATS_LID_SOURCE, useExisting: LidMergeService },
    { provide: STATS_CLOCK, useValue: () => new Date() },
    ObsoleteIndexes.provider(StatsFailureReason.name, OBSOLETE_FAILURE_REASON_INDEXES),
    ObsoleteIndexes.provider(StatsResponseSample.name, OBSOLETE_RESPONSE_SAMPLE_INDEXES),
  ],
  exports: [StatsService],
})
export class StatsModule {}
