import { Controller, Get, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { ErrorResponseDto } from '@app/common';
import type { AuthUser } from '../auth/auth-user';
import { CurrentUser } from '../auth/decorators/current-user.decorator';
import { RequireModule } from '../auth/decorators/require-module.decorator';
import { StatsQueryDto } from './dto/stats-query.dto';
import { StatsResponseDto } from './dto/stats-response.dto';
import { StatsService } from './stats.service';

@ApiTags('stats')
@ApiBearerAuth('bearer')
@RequireModule('whatsapp')
@ApiUnauthorizedResponse({
  type: ErrorResponseDto,
  description: 'Missing, invalid or expired token',
})
@ApiForbiddenResponse({
  type: ErrorResponseDto,
  description: 'The whatsapp module is not enabled for the organization',
})
@Controller('whatsapp/stats')
export class StatsController {
  constructor(private readonly stats: StatsService) {}

  @Get()
  @ApiOperation({
    operationId: 'stats_get',
    summary: 'WhatsApp statistics of the organization (or one session) over a window',
    description:
      'Answered from counters maintained as messages and statuses change (hourly and daily buckets per session), never by scanning messages. ' +
      'Default window: the last 30 UTC days, daily. since > until, or a window that, widened to whole buckets, spans over 366 days (31 days for hour granularity) → 400: at most 366 daily or 744 hourly buckets.',
  })
  @ApiOkResponse({ type: StatsResponseDto })
  @ApiBadRequestResponse({
    type: ErrorResponseDto,
    description: 'Invalid query, since after until, or window too large',
  })
  @ApiNotFoundResponse({
    type: ErrorResponseDto,
    description: 'sessionName is not a session of the organization (code SESSION_NOT_FOUND)',
  })
  get(@CurrentUser() user: AuthUser, @Query() query: StatsQueryDto): Promise<StatsResponseDto> {
    return this.stats.get(user.organizationId, query);
  }
}
