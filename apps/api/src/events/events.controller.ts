import { Controller, Get, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiExtraModels,
  ApiForbiddenResponse,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
  getSchemaPath,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ErrorResponseDto } from '@app/common';
import type { AuthUser } from '../auth/auth-user';
import { CurrentUser } from '../auth/decorators/current-user.decorator';
import { Public } from '../auth/decorators/public.decorator';
import { RequireModule } from '../auth/decorators/require-module.decorator';
import {
  EventEnvelopeDto,
  EventStreamQueryDto,
  EventStreamTokenResponseDto,
  SessionDeletedEventDataDto,
  SessionStatusEventDataDto,
} from './dto/events.dto';
import { EventStreamAuthGuard } from './event-stream-auth.guard';
import { EventStreamAuthService } from './event-stream-auth.service';
import { EventStreamService } from './event-stream.service';
import { EVENT_TYPES } from './events.types';

const STREAM_DESCRIPTION = [
  "Server-Sent Events of the caller's organization: " + EVENT_TYPES.join(', ') + '.',
  'Each message is `id: <event id>` + `data: <EventEnvelope JSON>` (no `event:` field, so `EventSource.onmessage` gets every type; read `type` from the JSON).',
  'Authenticate with `Authorization: Bearer <access token>`, or, from a browser EventSource, with `?access_token=` from `POST /api/v1/events/token` (valid 60 s to connect).',
  'Resume with the `Last-Event-ID` header (EventSource sends it on reconnect) or `?lastEventId=`: stored events after it (7-day retention) are replayed, then live ones follow.',
  'A `: heartbeat` comment is written every 15 s; access is checked again then (a disabled user or a switched-off whatsapp module ends the stream). The token is only checked when the stream opens: an open stream outlives its expiry.',
].join('\n\n');

@ApiTags('events')
@ApiExtraModels(EventEnvelopeDto, SessionStatusEventDataDto, SessionDeletedEventDataDto)
@Controller('events')
export class EventsController {
  constructor(
    private readonly auth: EventStreamAuthService,
    private readonly events: EventStreamService,
  ) {}

  @Post('token')
  @ApiBearerAuth('bearer')
  @RequireModule('whatsapp')
  @ApiOperation({
    operationId: 'events_createStreamToken',
    summary: 'A 60-second token for GET /events?access_token= (EventSource cannot send headers)',
  })
  @ApiCreatedResponse({ type: EventStreamTokenResponseDto })
  @ApiUnauthorizedResponse({ type: ErrorResponseDto })
  @ApiForbiddenResponse({
    type: ErrorResponseDto,
    description: "The 'whatsapp' module is not enabled for the organization",
  })
  createStreamToken(@CurrentUser() user: AuthUser): Promise<EventStreamTokenResponseDto> {
    return this.auth.issueStreamToken(user);
  }

  @Get()
  @Public() // not the global JWT guard: EventStreamAuthGuard also takes a ?access_token= stream token
  @UseGuards(EventStreamAuthGuard)
  @ApiOperation({
    operationId: 'events_stream',
    summary: 'Live event stream (Server-Sent Events) with Last-Event-ID resume',
    description: STREAM_DESCRIPTION,
    security: [{ bearer: [] }, {}],
  })
  @ApiHeader({
    name: 'Last-Event-ID',
    required: false,
    description: 'Resume after this event id',
    example: '6650a1b2003e8a0000001f3c',
  })
  @ApiOkResponse({
    description: 'text/event-stream; every `data:` line is an EventEnvelope',
    content: {
      'text/event-stream': {
        schema: {
          type: 'string',
          description: `data: <${getSchemaPath(EventEnvelopeDto)}>`,
          example:
            'id: 6650a1b2003e8a0000001f3c\ndata: {"id":"6650a1b2003e8a0000001f3c","type":"message.received",...}\n\n',
        },
      },
    },
  })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Invalid filter or Last-Event-ID' })
  @ApiUnauthorizedResponse({ type: ErrorResponseDto })
  @ApiForbiddenResponse({
    type: ErrorResponseDto,
    description: "The 'whatsapp' module is not enabled for the organization",
  })
  stream(
    @CurrentUser() user: AuthUser,
    @Req() req: Request,
    @Res() res: Response,
    @Query() query: EventStreamQueryDto,
  ): Promise<void> {
    return this.events.stream(user, req, res, query);
  }
}
