import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, MongooseHealthIndicator } from '@nestjs/terminus';
import { Public } from '../auth/decorators/public.decorator';
import { WhatsAppSessionsService } from '../whatsapp-session/whatsapp-session.service';

@ApiTags('health')
@Controller({ path: 'health' })
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly mongoose: MongooseHealthIndicator,
    private readonly sessions: WhatsAppSessionsService,
  ) {}

  @Get()
  @Public()
  @HealthCheck()
  @ApiOperation({ operationId: 'health_check', summary: 'Liveness and readiness: process, database ping (503 when the database is down), live WhatsApp sessions on this instance', security: [] })
  @ApiServiceUnavailableResponse({ description: 'A dependency is down' })
  check() {
    return this.health.check([
      () => ({ process: { status: 'up', uptimeSeconds: Math.round(process.uptime()), rssBytes: process.memoryUsage().rss } }),
      () => this.mongoose.pingCheck('database', { timeout: 1500 }),
      () => ({ sessions: { status: 'up', ...this.sessions.summary() } }),
    ]);
  }
}
