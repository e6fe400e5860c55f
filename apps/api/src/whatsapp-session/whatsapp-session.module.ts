import { join } from 'node:path';
import { Module } from '@nestjs/common';
import pino from 'pino';
import { APP_CONFIG, type AppConfig, INSTANCE_ID } from '@app/common';
import { WhatsAppCoreModule, type WaLogger } from '@app/whatsapp';
import { OrganizationsModule } from '../organizations/organizations.module';
import { OrganizationsService } from '../organizations/organizations.service';
import { SessionModuleGate } from './session-module-gate';
import { WhatsAppSessionController } from './whatsapp-session.controller';
import { WhatsAppSessionsService } from './whatsapp-session.service';

const whatsappCore = WhatsAppCoreModule.forRootAsync({
  imports: [OrganizationsModule],
  inject: [APP_CONFIG, INSTANCE_ID, OrganizationsService],
  useFactory: (config: AppConfig, instanceId: string, organizations: OrganizationsService) => ({
    // Sessions of an organization whose whatsapp module is off are not restored, and are stopped
    // only while it is off (SessionModuleGate). Read uncached: another instance may just have
    // switched it.
    mayRun: (organizationId: string) => organizations.hasModuleNow(organizationId, 'whatsapp'),
    engine: config.WHATSAPP_ENGINE,
    browserName: config.WA_BROWSER_NAME,
    instanceId,
    leaseTtlMs: config.SESSION_LEASE_TTL_SECONDS * 1000,
    backoff: {
      baseMs: config.WA_RECONNECT_BASE_MS,
      capMs: config.WA_RECONNECT_MAX_DELAY_MS,
      stableAfterMs: config.WA_RECONNECT_STABLE_SECONDS * 1000,
    },
    waWebSocketUrl: config.WA_WEBSOCKET_URL,
    // WHATSAPP_ENGINE=emulator: the in-process WhatsApp emulator keeps its accounts and keys next to the store.
    ...(config.WHATSAPP_ENGINE === 'emulator'
      ? { emulatorDataDir: join(config.DATA_DIR, 'emulator') }
      : {}),
    // WHATSAPP_ENGINE=sandbox: media contacts send stays downloadable across restarts, as on WhatsApp.
    ...(config.WHATSAPP_ENGINE === 'sandbox'
      ? { sandboxMediaDir: join(config.DATA_DIR, 'sandbox-media') }
      : {}),
    // Baileys is chatty: only its warnings reach our logs.
    logger: pino({
      level: config.LOG_LEVEL === 'silent' ? 'silent' : 'warn',
      base: { component: 'whatsapp' },
    }) as unknown as WaLogger,
  }),
});

@Module({
  imports: [whatsappCore, OrganizationsModule],
  controllers: [WhatsAppSessionController],
  providers: [WhatsAppSessionsService, SessionModuleGate],
  exports: [WhatsAppSessionsService, whatsappCore],
})
export class WhatsAppSessionModule {}
