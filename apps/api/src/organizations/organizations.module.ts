import { Module } from '@nestjs/common';
import { UserEmailsNfcMigration } from './user-emails-nfc.migration';
import { MongooseModule } from '@nestjs/mongoose';
import { OrganizationsController } from './organizations.controller';
import { OrganizationsRepository, UsersRepository } from './organizations.repository';
import { OrganizationsService } from './organizations.service';
import { Organization, OrganizationSchema } from './schemas/organization.schema';
import { User, UserSchema } from './schemas/user.schema';
import { UsersService } from './users.service';

@Module({
  imports: [
    MongooseModule.forFeature([
      { name: Organization.name, schema: OrganizationSchema },
      { name: User.name, schema: UserSchema },
    ]),
  ],
  controllers: [OrganizationsController],
  providers: [
    OrganizationsRepository,
    UsersRepository,
    OrganizationsService,
    UsersService,
    UserEmailsNfcMigration,
  ],
  exports: [OrganizationsService, UsersService],
})
export class OrganizationsModule {}
