import { Module } from '@nestjs/common';
import { MessagingModule } from '../messaging/messaging.module';
import { WhatsAppSessionModule } from '../whatsapp-session/whatsapp-session.module';
import { SandboxController } from './sandbox.controller';
import { SandboxService } from './sandbox.service';

/** Control routes of the simulated phone; AppModule imports this only when WHATSAPP_ENGINE is sandbox or emulator. */
@Module({
  imports: [WhatsAppSessionModule, MessagingModule],
  controllers: [SandboxController],
  providers: [SandboxService],
})
export class SandboxModule {}
