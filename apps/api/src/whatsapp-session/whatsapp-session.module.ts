import { join } from 'node:path';
import { Module } from '@nestjs/common';
import pino from 'pino';
import { APP_CONFIG, type AppConfig } from '@app/common';
import { WhatsAppCoreModule, type WaLogger } from '@app/whatsapp';
import { instanceIdOf } from './instance-id';
import { WhatsAppSessionController } from './whatsapp-session.controller';
import { WhatsAppSessionsService } from './whatsapp-session.service';

const whatsappCore = WhatsAppCoreModule.forRootAsync({
  inject: [APP_CONFIG],
  useFactory: (config: AppConfig) => ({
    engine: config.WHATSAPP_ENGINE,
    browserName: config.WA_BROWSER_NAME,
    instanceId: instanceIdOf(config),
    waWebSocketUrl: config.WA_WEBSOCKET_URL,
    // WHATSAPP_ENGINE=emulator: the in-process WhatsApp emulator keeps its accounts and keys next to the store.
    ...(config.WHATSAPP_ENGINE === 'emulator'
      ? { emulatorDataDir: join(config.DATA_DIR, 'emulator') }
      : {}),
    // Baileys is chatty: only its warnings reach our logs.
    logger: pino({
      level: config.LOG_LEVEL === 'silent' ? 'silent' : 'warn',
      base: { component: 'whatsapp' },
    }) as unknown as WaLogger,
  }),
});

@Module({
  imports: [whatsappCore],
  controllers: [WhatsAppSessionController],
  providers: [WhatsAppSessionsService],
  exports: [WhatsAppSessionsService, whatsappCore],
})
export class WhatsAppSessionModule {}
