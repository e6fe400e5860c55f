import { Body, Controller, Get, Param, Patch, Post, Put } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
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
import { Roles } from '../auth/decorators/roles.decorator';
import {
  OrganizationResponseDto,
  UpdateModulesDto,
  UpdateOrganizationDto,
} from './dto/organization.dto';
import { CreateUserDto, UpdateUserDto, UserResponseDto } from './dto/user.dto';
import { toOrganizationDto, toUserDto } from './organization.mapper';
import { OrganizationsService } from './organizations.service';
import { UsersService } from './users.service';

/** A race the token check cannot see: the organization deleted while the request ran. */
const ORGANIZATION_GONE =
  'The organization was deleted while the request ran (code ORGANIZATION_NOT_FOUND)';

@ApiTags('organizations')
@ApiBearerAuth('bearer')
@ApiUnauthorizedResponse({
  type: ErrorResponseDto,
  description: 'Missing, invalid or expired token',
})
@Controller('organizations/me')
export class OrganizationsController {
  constructor(
    private readonly organizations: OrganizationsService,
    private readonly users: UsersService,
  ) {}

  @Get()
  @ApiOperation({ operationId: 'organizations_getMine', summary: "The caller's organization" })
  @ApiOkResponse({ type: OrganizationResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: ORGANIZATION_GONE })
  async get(@CurrentUser() user: AuthUser): Promise<OrganizationResponseDto> {
    return toOrganizationDto(await this.organizations.get(user.organizationId));
  }

  @Patch()
  @Roles('owner', 'admin')
  @ApiOperation({
    operationId: 'organizations_update',
    summary: 'Rename the organization (owner/admin)',
  })
  @ApiOkResponse({ type: OrganizationResponseDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiForbiddenResponse({ type: ErrorResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: ORGANIZATION_GONE })
  async update(
    @CurrentUser() user: AuthUser,
    @Body() dto: UpdateOrganizationDto,
  ): Promise<OrganizationResponseDto> {
    return toOrganizationDto(await this.organizations.rename(user.organizationId, dto.name));
  }

  @Put('modules')
  @Roles('owner', 'admin')
  @ApiOperation({
    operationId: 'organizations_setModules',
    summary: 'Set the enabled modules (owner/admin)',
    description:
      "Switching `whatsapp` off stops the organization's WhatsApp sessions (links kept; status `disconnected` with the reason as `lastError`) and keeps them stopped across restarts; switching it on again restores the linked ones, without a new scan. Its routes answer 403 `MODULE_DISABLED` meanwhile.",
  })
  @ApiOkResponse({ type: OrganizationResponseDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiForbiddenResponse({ type: ErrorResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: ORGANIZATION_GONE })
  async setModules(
    @CurrentUser() user: AuthUser,
    @Body() dto: UpdateModulesDto,
  ): Promise<OrganizationResponseDto> {
    return toOrganizationDto(await this.organizations.setModules(user.organizationId, dto.modules));
  }

  @Get('users')
  @ApiOperation({ operationId: 'organizations_listUsers', summary: 'Users of the organization' })
  @ApiOkResponse({ type: UserResponseDto, isArray: true })
  async listUsers(@CurrentUser() user: AuthUser): Promise<UserResponseDto[]> {
    return (await this.users.list(user.organizationId)).map(toUserDto);
  }

  @Post('users')
  @Roles('owner', 'admin')
  @ApiOperation({
    operationId: 'organizations_createUser',
    summary: 'Invite a member or admin (only owners create admins)',
  })
  @ApiCreatedResponse({ type: UserResponseDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiForbiddenResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'Email already used' })
  async createUser(
    @CurrentUser() user: AuthUser,
    @Body() dto: CreateUserDto,
  ): Promise<UserResponseDto> {
    return toUserDto(await this.users.invite(user, dto));
  }

  @Patch('users/:id')
  @ApiParam({ name: 'id', description: 'User id', example: '665f1c2b1e6a3e4f7e9d0e0c' })
  @Roles('owner', 'admin')
  @ApiOperation({
    operationId: 'organizations_updateUser',
    summary: 'Change a role or disable a user; the last owner is protected',
  })
  @ApiOkResponse({ type: UserResponseDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiForbiddenResponse({ type: ErrorResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'Would remove the last owner' })
  async updateUser(
    @CurrentUser() user: AuthUser,
    @Param('id') id: string,
    @Body() dto: UpdateUserDto,
  ): Promise<UserResponseDto> {
    return toUserDto(await this.users.update(user, id, dto));
  }
}
