import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { WhatsAppSessionModule } from '../whatsapp-session/whatsapp-session.module';
import { HealthController } from './health.controller';

@Module({
  imports: [TerminusModule, WhatsAppSessionModule],
  controllers: [HealthController],
})
export class HealthModule {}
