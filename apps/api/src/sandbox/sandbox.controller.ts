import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { ErrorResponseDto } from '@app/common';
import type { AuthUser } from '../auth/auth-user';
import { CurrentUser } from '../auth/decorators/current-user.decorator';
import { RequireModule } from '../auth/decorators/require-module.decorator';
import { SessionResponseDto } from '../whatsapp-session/dto/session.dto';
import { toSessionDto } from '../whatsapp-session/session.mapper';
import {
  SandboxAcceptedDto,
  SandboxContactDto,
  SandboxDisconnectDto,
  SandboxInboundDto,
  SandboxInboundResponseDto,
  SandboxGroupDto,
  SandboxLidMappingDto,
  SandboxPairingCodeDto,
  SandboxPhoneReadDto,
  SandboxReceiptDto,
  SandboxScanDto,
} from './sandbox.dto';
import { SandboxService } from './sandbox.service';

const ONLY_SANDBOX =
  ' Available only when the gateway runs with WHATSAPP_ENGINE=sandbox (or emulator).';

@ApiTags('sandbox')
@ApiBearerAuth('bearer')
@ApiParam({ name: 'name', description: 'Session name', example: 'sales-1' })
@ApiUnauthorizedResponse({
  type: ErrorResponseDto,
  description: 'Missing, invalid or expired token',
})
@ApiForbiddenResponse({
  type: ErrorResponseDto,
  description: 'The whatsapp module is not enabled for the organization',
})
@ApiNotFoundResponse({
  type: ErrorResponseDto,
  description: 'Unknown session, or the session has no live sandbox connection',
})
@ApiBadRequestResponse({ type: ErrorResponseDto })
@ApiConflictResponse({
  type: ErrorResponseDto,
  description:
    'The simulated connection is not in a state for this: not connected (SESSION_NOT_CONNECTED), or not waiting for a scan or a pairing code (SANDBOX_INVALID_STATE)',
})
@RequireModule('whatsapp')
@Controller('whatsapp/sandbox/sessions/:name')
export class SandboxController {
  constructor(private readonly sandbox: SandboxService) {}

  @Post('scan')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'sandbox_scan',
    summary:
      'The simulated phone scans the QR code (then pairing completes like WhatsApp: restart 515, connected).' +
      ONLY_SANDBOX,
  })
  @ApiOkResponse({ type: SessionResponseDto })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'No QR is showing' })
  async scan(
    @CurrentUser() user: AuthUser,
    @Param('name') name: string,
    @Body() dto: SandboxScanDto,
  ): Promise<SessionResponseDto> {
    return toSessionDto(
      await this.sandbox.scan(user.organizationId, name, dto.phone, dto.pushName),
    );
  }

  @Post('pairing-code')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'sandbox_enterPairingCode',
    summary: 'The simulated phone enters the pairing code.' + ONLY_SANDBOX,
  })
  @ApiOkResponse({ type: SessionResponseDto })
  async pairingCode(
    @CurrentUser() user: AuthUser,
    @Param('name') name: string,
    @Body() dto: SandboxPairingCodeDto,
  ): Promise<SessionResponseDto> {
    return toSessionDto(await this.sandbox.enterPairingCode(user.organizationId, name, dto.code));
  }

  @Post('inbound')
  @HttpCode(202)
  @ApiOperation({
    operationId: 'sandbox_inbound',
    summary:
      'A contact sends a message (text, media, location, contact card, reaction, poll, revoke, edit).' +
      ONLY_SANDBOX,
  })
  @ApiAcceptedResponse({ type: SandboxInboundResponseDto })
  async inbound(
    @CurrentUser() user: AuthUser,
    @Param('name') name: string,
    @Body() dto: SandboxInboundDto,
  ): Promise<SandboxInboundResponseDto> {
    return this.sandbox.inbound(user.organizationId, name, dto);
  }

  @Post('receipts')
  @HttpCode(202)
  @ApiOperation({
    operationId: 'sandbox_receipt',
    summary:
      'The recipient’s phone reports delivered/read/played for one of our sent messages (any order).' +
      ONLY_SANDBOX,
  })
  @ApiAcceptedResponse({ type: SandboxAcceptedDto })
  async receipt(
    @CurrentUser() user: AuthUser,
    @Param('name') name: string,
    @Body() dto: SandboxReceiptDto,
  ): Promise<SandboxAcceptedDto> {
    await this.sandbox.receipt(user.organizationId, name, dto);
    return { ok: true };
  }

  @Post('phone-read')
  @HttpCode(202)
  @ApiOperation({
    operationId: 'sandbox_phoneRead',
    summary:
      'The linked phone reads received messages (a read-self receipt): they become read and leave their chat’s unread count.' +
      ONLY_SANDBOX,
  })
  @ApiAcceptedResponse({ type: SandboxAcceptedDto })
  async phoneRead(
    @CurrentUser() user: AuthUser,
    @Param('name') name: string,
    @Body() dto: SandboxPhoneReadDto,
  ): Promise<SandboxAcceptedDto> {
    await this.sandbox.phoneRead(user.organizationId, name, dto);
    return { ok: true };
  }

  @Post('disconnect')
  @HttpCode(202)
  @ApiOperation({
    operationId: 'sandbox_disconnect',
    summary:
      'Simulate a close: connectionLost, loggedOut (from the phone), restartRequired, connectionReplaced, ' +
      'forbidden (403: the number is banned or blocked), multideviceMismatch (411: the linked-device link is refused), ' +
      'badSession (500: a close with no known reason, reconnected like a lost connection), ' +
      'unavailableService (503: the WhatsApp service is unavailable, reconnected like a lost connection).' +
      ONLY_SANDBOX,
  })
  @ApiAcceptedResponse({ type: SandboxAcceptedDto })
  async disconnect(
    @CurrentUser() user: AuthUser,
    @Param('name') name: string,
    @Body() dto: SandboxDisconnectDto,
  ): Promise<SandboxAcceptedDto> {
    await this.sandbox.disconnect(user.organizationId, name, dto.reason);
    return { ok: true };
  }

  @Post('contacts')
  @HttpCode(202)
  @ApiOperation({
    operationId: 'sandbox_pushContact',
    summary: 'WhatsApp reports a contact (address-book name, push name, LID).' + ONLY_SANDBOX,
  })
  @ApiAcceptedResponse({ type: SandboxAcceptedDto })
  async contact(
    @CurrentUser() user: AuthUser,
    @Param('name') name: string,
    @Body() dto: SandboxContactDto,
  ): Promise<SandboxAcceptedDto> {
    await this.sandbox.pushContact(user.organizationId, name, dto);
    return { ok: true };
  }

  @Post('lid-mapping')
  @HttpCode(202)
  @ApiOperation({
    operationId: 'sandbox_revealLid',
    summary: 'WhatsApp reveals which LID belongs to a phone number.' + ONLY_SANDBOX,
  })
  @ApiAcceptedResponse({ type: SandboxAcceptedDto })
  async lid(
    @CurrentUser() user: AuthUser,
    @Param('name') name: string,
    @Body() dto: SandboxLidMappingDto,
  ): Promise<SandboxAcceptedDto> {
    await this.sandbox.revealLid(user.organizationId, name, dto);
    return { ok: true };
  }

  @Post('groups')
  @HttpCode(202)
  @ApiOperation({
    operationId: 'sandbox_nameGroup',
    summary:
      'The account is in a group with this subject (created, joined or renamed): WhatsApp announces it, and the group contact takes the subject as its name.' +
      ONLY_SANDBOX,
  })
  @ApiAcceptedResponse({ type: SandboxAcceptedDto })
  async group(
    @CurrentUser() user: AuthUser,
    @Param('name') name: string,
    @Body() dto: SandboxGroupDto,
  ): Promise<SandboxAcceptedDto> {
    await this.sandbox.nameGroup(user.organizationId, name, dto);
    return { ok: true };
  }
}
