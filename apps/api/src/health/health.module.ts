import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { WhatsAppSessionModule } from '../whatsapp-session/whatsapp-session.module';
import { HealthController } from './health.controller';
import { HealthService } from './health.service';

@Module({
  imports: [TerminusModule, WhatsAppSessionModule],
  controllers: [HealthController],
  providers: [HealthService],
})
export class HealthModule {}
