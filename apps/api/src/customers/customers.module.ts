import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { phoneSearchKeys, SearchKeysBackfill } from '@app/common';
import { CustomerLinkFollowsRepository } from './customer-link-follows.repository';
import { CustomerLinksRecovery } from './customer-links-recovery.service';
import { CustomersController } from './customers.controller';
import { CustomersRepository } from './customers.repository';
import { CustomersService } from './customers.service';
import {
  CustomerLinkFollow,
  CustomerLinkFollowSchema,
} from './schemas/customer-link-follow.schema';
import { Customer, CustomerSchema } from './schemas/customer.schema';

@Module({
  imports: [
    MongooseModule.forFeature([
      { name: Customer.name, schema: CustomerSchema },
      { name: CustomerLinkFollow.name, schema: CustomerLinkFollowSchema },
    ]),
  ],
  controllers: [CustomersController],
  providers: [
    CustomersRepository,
    CustomersService,
    CustomerLinkFollowsRepository,
    CustomerLinksRecovery,
    SearchKeysBackfill.provider(Customer.name, [
      { source: 'name', keys: 'searchName' },
      { source: 'phone', keys: 'searchPhone', tokens: phoneSearchKeys },
    ]),
  ],
  exports: [CustomersService],
})
export class CustomersModule {}
