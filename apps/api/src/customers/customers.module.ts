import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { phoneSearchKeys, SearchKeysBackfill } from '@app/common';
import { CustomersController } from './customers.controller';
import { CustomersRepository } from './customers.repository';
import { CustomersService } from './customers.service';
import { Customer, CustomerSchema } from './schemas/customer.schema';

@Module({
  imports: [MongooseModule.forFeature([{ name: Customer.name, schema: CustomerSchema }])],
  controllers: [CustomersController],
  providers: [
    CustomersRepository,
    CustomersService,
    SearchKeysBackfill.provider(Customer.name, [
      { source: 'name', keys: 'searchName' },
      { source: 'phone', keys: 'searchPhone', tokens: phoneSearchKeys },
    ]),
  ],
  exports: [CustomersService],
})
export class CustomersModule {}
