import { Controller, Get } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { HealthCheck, type HealthCheckResult } from '@nestjs/terminus';
import { ErrorResponseDto, RETRY_AFTER_HEADER } from '@app/common';
import { Public } from '../auth/decorators/public.decorator';
import { HealthService } from './health.service';

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
  constructor(private readonly health: HealthService) {}

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
    description:
      'NOT_READY: a dependency is down (`message` names it); `details` lists every indicator with its status. Retry-After: 5',
    headers: { 'Retry-After': RETRY_AFTER_HEADER },
  })
  check(): Promise<HealthCheckResult> {
    return this.health.check();
  }
}
