import {
  Body,
  Controller,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  Post,
  Put,
  Query,
} from '@nestjs/common';
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
import { toContactDto } from './contact.mapper';
import { SyncSessionNameError } from './contacts.errors';
import { ContactsService } from './contacts.service';
import {
  ContactPageDto,
  ContactResponseDto,
  ListContactsQueryDto,
  SyncContactsDto,
  SyncContactsQueryDto,
  SyncStartedDto,
  TagCountDto,
  TagCountsQueryDto,
  UpdateContactDto,
} from './dto/contact.dto';

@ApiTags('contacts')
@ApiBearerAuth('bearer')
@RequireModule('whatsapp')
@ApiUnauthorizedResponse({
  type: ErrorResponseDto,
  description: 'Missing, invalid or expired token',
})
@ApiForbiddenResponse({
  type: ErrorResponseDto,
  description: "The 'whatsapp' module is not enabled for the organization",
})
@Controller('whatsapp/contacts')
export class ContactsController {
  constructor(private readonly contacts: ContactsService) {}

  @Get()
  @ApiOperation({
    operationId: 'contacts_list',
    summary: 'List synced WhatsApp contacts (latest activity first) with search and filters',
  })
  @ApiOkResponse({ type: ContactPageDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Invalid query parameters' })
  @ApiNotFoundResponse({
    type: ErrorResponseDto,
    description:
      'sessionName names no session of the organization (nor a deleted one with contacts)',
  })
  async list(
    @CurrentUser() user: AuthUser,
    @Query() query: ListContactsQueryDto,
  ): Promise<ContactPageDto> {
    const page = await this.contacts.list(user.organizationId, query);
    return { ...page, items: page.items.map(toContactDto) };
  }

  // Declared before ':id' so "tags" is not taken for an id.
  @Get('tags')
  @ApiOperation({
    operationId: 'contacts_listTags',
    summary: 'Tags in use with the number of contacts carrying each',
  })
  @ApiOkResponse({ type: TagCountDto, isArray: true })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Invalid query parameters' })
  @ApiNotFoundResponse({
    type: ErrorResponseDto,
    description:
      'sessionName names no session of the organization (nor a deleted one with contacts)',
  })
  tags(@CurrentUser() user: AuthUser, @Query() query: TagCountsQueryDto): Promise<TagCountDto[]> {
    return this.contacts.tagCounts(user.organizationId, query.sessionName);
  }

  @Post('sync')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    operationId: 'contacts_sync',
    summary: "Re-read a session's contacts from WhatsApp; they are upserted asynchronously",
  })
  @ApiAcceptedResponse({ type: SyncStartedDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Missing or invalid sessionName' })
  @ApiNotFoundResponse({
    type: ErrorResponseDto,
    description: 'No such session in this organization',
  })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'The session is not connected' })
  async sync(
    @CurrentUser() user: AuthUser,
    @Body() body: SyncContactsDto,
    @Query() query: SyncContactsQueryDto,
  ): Promise<SyncStartedDto> {
    const sessionName = body.sessionName ?? query.sessionName;
    if (
      !sessionName ||
      (body.sessionName && query.sessionName && body.sessionName !== query.sessionName)
    )
      throw new SyncSessionNameError(body.sessionName, query.sessionName);
    await this.contacts.resync(user.organizationId, sessionName);
    return { status: 'started' };
  }

  @Get(':id')
  @ApiParam({ name: 'id', description: 'Contact id', example: '665f1c2b1e6a3e4f7e9d0e0e' })
  @ApiOperation({ operationId: 'contacts_get', summary: 'One contact' })
  @ApiOkResponse({ type: ContactResponseDto })
  @ApiNotFoundResponse({
    type: ErrorResponseDto,
    description: 'No such contact in this organization',
  })
  async get(@CurrentUser() user: AuthUser, @Param('id') id: string): Promise<ContactResponseDto> {
    return toContactDto(await this.contacts.getOwned(user.organizationId, id));
  }

  @Put(':id')
  @ApiParam({ name: 'id', description: 'Contact id', example: '665f1c2b1e6a3e4f7e9d0e0e' })
  @ApiOperation({
    operationId: 'contacts_update',
    summary: 'Set the name override, tags, notes or customer link (fields a sync never overwrites)',
  })
  @ApiOkResponse({ type: ContactResponseDto })
  @ApiBadRequestResponse({
    type: ErrorResponseDto,
    description: 'Validation failed (per-field messages in details), e.g. a malformed customerId',
  })
  @ApiForbiddenResponse({
    type: ErrorResponseDto,
    description:
      "The 'whatsapp' module is not enabled for the organization, or a customerId to link was sent while its 'crm' module is not (MODULE_DISABLED)",
  })
  @ApiNotFoundResponse({
    type: ErrorResponseDto,
    description: 'No such contact, or no such customer in this organization',
  })
  @ApiConflictResponse({
    type: ErrorResponseDto,
    description:
      'CONTACT_CHANGED: the contact changed since expectedRevision (details.revision is the current one)',
  })
  async update(
    @CurrentUser() user: AuthUser,
    @Param('id') id: string,
    @Body() dto: UpdateContactDto,
  ): Promise<ContactResponseDto> {
    return toContactDto(await this.contacts.update(user.organizationId, id, dto));
  }
}
