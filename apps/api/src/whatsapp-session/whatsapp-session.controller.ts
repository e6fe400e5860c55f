import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { ErrorResponseDto, RETRY_AFTER_HEADER } from '@app/common';
import type { AuthUser } from '../auth/auth-user';
import { CurrentUser } from '../auth/decorators/current-user.decorator';
import { RequireModule } from '../auth/decorators/require-module.decorator';
import {
  CreateSessionDto,
  PairingCodeRequestDto,
  PairingCodeResponseDto,
  QrResponseDto,
  SessionResponseDto,
} from './dto/session.dto';
import { toSessionDto } from './session.mapper';
import { WhatsAppSessionsService } from './whatsapp-session.service';

/**
 * Routes that need the live connection, which another instance may hold (asked through the
 * database), or which start one (refused by an instance that is shutting down).
 */
const ApiSessionUnavailable = () =>
  ApiServiceUnavailableResponse({
    type: ErrorResponseDto,
    description:
      'SESSION_HOLDER_UNAVAILABLE: the instance running the session did not answer in time; ' +
      'INSTANCE_SHUTTING_DOWN: this instance is shutting down and starts no connection. Retry ' +
      'after Retry-After',
    headers: { 'Retry-After': RETRY_AFTER_HEADER },
  });

@ApiTags('sessions')
@ApiBearerAuth('bearer')
@ApiUnauthorizedResponse({ type: ErrorResponseDto })
@ApiForbiddenResponse({ type: ErrorResponseDto, description: 'The whatsapp module is disabled' })
@RequireModule('whatsapp')
@Controller('whatsapp/sessions')
export class WhatsAppSessionController {
  constructor(private readonly sessions: WhatsAppSessionsService) {}

  @Post()
  @ApiOperation({
    operationId: 'sessions_create',
    summary: 'Create a session and start linking (status connecting → qr_ready)',
  })
  @ApiCreatedResponse({ type: SessionResponseDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiSessionUnavailable()
  @ApiForbiddenResponse({
    type: ErrorResponseDto,
    description:
      'The whatsapp module is disabled, or the organization has WHATSAPP_MAX_SESSIONS_PER_ORG sessions (SESSION_LIMIT_REACHED, details.limit)',
  })
  @ApiConflictResponse({
    type: ErrorResponseDto,
    description:
      'The organization already has a session with this name (SESSION_EXISTS), or a delete of the same name removed it while it was being created (SESSION_DELETED_DURING_CREATE: create it again if still wanted)',
  })
  async create(
    @CurrentUser() user: AuthUser,
    @Body() dto: CreateSessionDto,
  ): Promise<SessionResponseDto> {
    return toSessionDto(await this.sessions.create(user.organizationId, dto.sessionName));
  }

  @Get()
  @ApiOperation({
    operationId: 'sessions_list',
    summary: "The organization's sessions with status, phone, lastActivityAt and lastError",
  })
  @ApiOkResponse({ type: SessionResponseDto, isArray: true })
  async list(@CurrentUser() user: AuthUser): Promise<SessionResponseDto[]> {
    return (await this.sessions.list(user.organizationId)).map(toSessionDto);
  }

  @Get(':name/qr')
  @ApiParam({ name: 'name', example: 'sales-1' })
  @ApiOperation({
    operationId: 'sessions_getQr',
    summary: 'Current QR code as a PNG data URL (the first lasts 60 s, each later one about 20 s)',
  })
  @ApiOkResponse({ type: QrResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({
    type: ErrorResponseDto,
    description: 'Already connected, or no QR available right now',
  })
  @ApiSessionUnavailable()
  async qr(@CurrentUser() user: AuthUser, @Param('name') name: string): Promise<QrResponseDto> {
    const view = await this.sessions.getQr(user.organizationId, name);
    return { qr: view.qr, status: view.status, expiresAt: view.expiresAt! };
  }

  @Post(':name/pairing-code')
  @HttpCode(200)
  @ApiParam({ name: 'name', example: 'sales-1' })
  @ApiOperation({
    operationId: 'sessions_requestPairingCode',
    summary: 'Link by phone number instead of QR: returns the code to type on the phone',
  })
  @ApiOkResponse({ type: PairingCodeResponseDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({ type: ErrorResponseDto })
  @ApiSessionUnavailable()
  async pairingCode(
    @CurrentUser() user: AuthUser,
    @Param('name') name: string,
    @Body() dto: PairingCodeRequestDto,
  ): Promise<PairingCodeResponseDto> {
    return { code: await this.sessions.requestPairingCode(user.organizationId, name, dto.phone) };
  }

  @Get(':name/status')
  @ApiParam({ name: 'name', example: 'sales-1' })
  @ApiOperation({ operationId: 'sessions_getStatus', summary: 'The session document' })
  @ApiOkResponse({ type: SessionResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  async status(
    @CurrentUser() user: AuthUser,
    @Param('name') name: string,
  ): Promise<SessionResponseDto> {
    return toSessionDto(await this.sessions.getOwned(user.organizationId, name));
  }

  @Post(':name/restart')
  @HttpCode(200)
  @ApiParam({ name: 'name', example: 'sales-1' })
  @ApiOperation({ operationId: 'sessions_restart', summary: 'Close and reconnect now' })
  @ApiOkResponse({ type: SessionResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiSessionUnavailable()
  async restart(
    @CurrentUser() user: AuthUser,
    @Param('name') name: string,
  ): Promise<SessionResponseDto> {
    return toSessionDto(await this.sessions.restart(user.organizationId, name));
  }

  @Delete(':name')
  @HttpCode(204)
  @ApiParam({ name: 'name', example: 'sales-1' })
  @ApiOperation({
    operationId: 'sessions_delete',
    summary: 'Log out on WhatsApp and delete the session; messages and contacts stay',
    description:
      "A linked session that is not connected right now (reconnecting, stopped) is connected first, for up to 10 s, so that the device leaves the phone's list of linked devices; if it cannot connect, it is unlinked here only.",
  })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiSessionUnavailable()
  async remove(@CurrentUser() user: AuthUser, @Param('name') name: string): Promise<void> {
    await this.sessions.delete(user.organizationId, name);
  }
}
