import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { phoneSearchKeys, SearchKeysBackfill } from '@app/common';
import { CustomersModule } from '../customers/customers.module';
import { MessagingModule } from '../messaging/messaging.module';
import { OrganizationsModule } from '../organizations/organizations.module';
import { WhatsAppSessionModule } from '../whatsapp-session/whatsapp-session.module';
import { ContactLocks } from './contact-locks';
import { ContactsController } from './contacts.controller';
import { ContactEventsPublisher } from './contacts.events';
import { ContactsRepository } from './contacts.repository';
import { ContactsSyncListener } from './contacts-sync.listener';
import { ContactsSyncService } from './contacts-sync.service';
import { ContactsService } from './contacts.service';
import { CustomerLinksService } from './customer-links.service';
import { LidMappingsRepository } from './lid-mappings.repository';
import { LidMergeService } from './lid-merge.service';
import { Contact, ContactSchema } from './schemas/contact.schema';
import { LidMapping, LidMappingSchema } from './schemas/lid-mapping.schema';

@Module({
  imports: [
    MongooseModule.forFeature([
      { name: Contact.name, schema: ContactSchema },
      { name: LidMapping.name, schema: LidMappingSchema },
    ]),
    CustomersModule,
    MessagingModule,
    OrganizationsModule,
    WhatsAppSessionModule,
  ],
  controllers: [ContactsController],
  providers: [
    ContactsRepository,
    LidMappingsRepository,
    LidMergeService,
    ContactLocks,
    ContactEventsPublisher,
    ContactsService,
    ContactsSyncService,
    CustomerLinksService,
    ContactsSyncListener,
    SearchKeysBackfill.provider(Contact.name, [
      { source: 'customName', keys: 'searchCustomName' },
      { source: 'addressBookName', keys: 'searchAddressBookName' },
      { source: 'pushName', keys: 'searchPushName' },
      { source: 'phone', keys: 'searchPhone', tokens: phoneSearchKeys },
    ]),
  ],
  // LidMergeService: the recorded LID mappings, read by Stats (one person under two chat addresses).
  exports: [ContactsService, LidMergeService],
})
export class ContactsModule {}
