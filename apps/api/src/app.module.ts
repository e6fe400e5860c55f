import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { AllExceptionsFilter, AppConfig, AppConfigModule, createLoggerModule } from '@app/common';
import { AuthModule } from './auth/auth.module';
import { ContactsModule } from './contacts/contacts.module';
import { CustomersModule } from './customers/customers.module';
import { DatabaseModule } from './database/database.module';
import { EventsModule } from './events/events.module';
import { HealthModule } from './health/health.module';
import { MessagingModule } from './messaging/messaging.module';
import { OrganizationsModule } from './organizations/organizations.module';
import { StatsModule } from './stats/stats.module';
import { SandboxModule } from './sandbox/sandbox.module';
import { ShutdownLog } from './shutdown-log';
import { WebhooksModule } from './webhooks/webhooks.module';
import { WhatsAppSessionModule } from './whatsapp-session/whatsapp-session.module';

@Module({})
export class AppModule {
  /** The config is validated once (main.ts or the test harness) and handed in. */
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        AppConfigModule.forRoot(config),
        createLoggerModule(config),
        EventEmitterModule.forRoot(),
        DatabaseModule,
        HealthModule,
        AuthModule,
        OrganizationsModule,
        StatsModule,
        WhatsAppSessionModule,
        MessagingModule,
        CustomersModule,
        ContactsModule,
        EventsModule,
        WebhooksModule,
        // The simulated phone's control routes: the sandbox engine, or the real Baileys engine against the in-process emulator.
        ...(config.WHATSAPP_ENGINE === 'sandbox' || config.WHATSAPP_ENGINE === 'emulator'
          ? [SandboxModule]
          : []),
      ],
      providers: [{ provide: APP_FILTER, useClass: AllExceptionsFilter }, ShutdownLog],
    };
  }
}
