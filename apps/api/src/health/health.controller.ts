import { Controller, Get } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, MongooseHealthIndicator } from '@nestjs/terminus';
import { ErrorResponseDto } from '@app/common';
import { Public } from '../auth/decorators/public.decorator';
import { WhatsAppSessionsService } from '../whatsapp-session/whatsapp-session.service';

const INDICATORS_SCHEMA = {
  type: 'object',
  description: 'Per indicator: process, database, sessions',
  additionalProperties: {
    type: 'object',
    required: ['status'],
    properties: { status: { type: 'string', description: 'up or down', example: 'up' } },
    additionalProperties: true,
  },
  example: {
    process: { status: 'up', uptimeSeconds: 3600, rssBytes: 123456789 },
    database: { status: 'up' },
    sessions: { status: 'up', live: 2, connected: 1, restoring: false },
  },
};

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
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  @ApiOperation({
    operationId: 'health_check',
    summary:
      'Liveness and readiness: process, database ping (503 when the database is down), live WhatsApp sessions on this instance (`restoring` is true while the boot restore is still starting sessions)',
    security: [],
  })
  @ApiOkResponse({
    description: 'Everything is up',
    schema: {
      type: 'object',
      required: ['status', 'details'],
      properties: {
        status: { type: 'string', enum: ['ok'], example: 'ok' },
        info: INDICATORS_SCHEMA,
        error: INDICATORS_SCHEMA,
        details: INDICATORS_SCHEMA,
      },
    },
  })
  @ApiServiceUnavailableResponse({
    type: ErrorResponseDto,
    description: 'A dependency is down; details lists every indicator with its status',
  })
  check() {
    return this.health.check([
      () => ({
        process: {
          status: 'up',
          uptimeSeconds: Math.round(process.uptime()),
          rssBytes: process.memoryUsage().rss,
        },
      }),
      () => this.mongoose.pingCheck('database', { timeout: 1500 }),
      () => ({ sessions: { status: 'up', ...this.sessions.summary() } }),
    ]);
  }
}
