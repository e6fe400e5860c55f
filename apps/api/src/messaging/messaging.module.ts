import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { ObsoleteIndexes } from '@app/common';
import { WhatsAppSessionModule } from '../whatsapp-session/whatsapp-session.module';
import { ChatCountsService } from './chat-counts.service';
import { ChatReadService } from './chat-read.service';
import { ChatsRepository } from './chats.repository';
import { EarlyReceiptsRepository } from './early-receipts.repository';
import { IdempotencyRepository } from './idempotency.repository';
import { InboundIngestService } from './inbound-ingest.service';
import { mediaStorageProvider } from './media/media-storage.provider';
import { MediaDownloadService } from './media-download.service';
import { MediaOrphanSweep } from './media-orphan-sweep.service';
import { MediaSweepsRepository } from './media-sweeps.repository';
import { MessageEffectsRecovery } from './message-effects-recovery.service';
import { MessageCreationService } from './message-creation.service';
import { MessageCreationsRepository } from './message-creations.repository';
import { MessageHistoryService } from './message-history.service';
import { MessageStatusService } from './message-status.service';
import { MessagesRepository } from './messages.repository';
import { MessagingController } from './messaging.controller';
import { OutboxDispatcher } from './outbox-dispatcher';
import { Chat, ChatSchema, OBSOLETE_CHAT_INDEXES } from './schemas/chat.schema';
import { EarlyReceipt, EarlyReceiptSchema } from './schemas/early-receipt.schema';
import { IdempotencyKey, IdempotencyKeySchema } from './schemas/idempotency-key.schema';
import { MediaSweep, MediaSweepSchema } from './schemas/media-sweep.schema';
import { MessageCreation, MessageCreationSchema } from './schemas/message-creation.schema';
import { Message, MessageSchema } from './schemas/message.schema';
import { ReadReceiptDispatcher } from './read-receipt-dispatcher';
import { SendMessageUseCase } from './send-message.usecase';

@Module({
  imports: [
    WhatsAppSessionModule,
    MongooseModule.forFeature([
      { name: Message.name, schema: MessageSchema },
      { name: Chat.name, schema: ChatSchema },
      { name: IdempotencyKey.name, schema: IdempotencyKeySchema },
      { name: MessageCreation.name, schema: MessageCreationSchema },
      { name: EarlyReceipt.name, schema: EarlyReceiptSchema },
      { name: MediaSweep.name, schema: MediaSweepSchema },
    ]),
  ],
  controllers: [MessagingController],
  providers: [
    mediaStorageProvider,
    MessagesRepository,
    ChatsRepository,
    ChatCountsService,
    IdempotencyRepository,
    MessageStatusService,
    MessageCreationsRepository,
    EarlyReceiptsRepository,
    MessageCreationService,
    MessageEffectsRecovery,
    OutboxDispatcher,
    SendMessageUseCase,
    InboundIngestService,
    MediaDownloadService,
    MediaSweepsRepository,
    MediaOrphanSweep,
    MessageHistoryService,
    ChatReadService,
    ReadReceiptDispatcher,
    ObsoleteIndexes.provider(Chat.name, OBSOLETE_CHAT_INDEXES),
  ],
  exports: [MessageHistoryService],
})
export class MessagingModule {}
