import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
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
import {
  CreateCustomerDto,
  CustomerPageDto,
  CustomerResponseDto,
  ListCustomersQueryDto,
  UpdateCustomerDto,
} from './dto/customer.dto';
import { toCustomerDto } from './customer.mapper';
import { CustomersService } from './customers.service';

@ApiTags('customers')
@ApiBearerAuth('bearer')
@RequireModule('crm')
@ApiUnauthorizedResponse({
  type: ErrorResponseDto,
  description: 'Missing, invalid or expired token',
})
@ApiForbiddenResponse({
  type: ErrorResponseDto,
  description: "The 'crm' module is not enabled for the organization",
})
@Controller('customers')
export class CustomersController {
  constructor(private readonly customers: CustomersService) {}

  @Post()
  @ApiOperation({
    operationId: 'customers_create',
    summary: 'Create a customer; WhatsApp contacts with the same normalized phone get linked to it',
  })
  @ApiCreatedResponse({ type: CustomerResponseDto })
  @ApiBadRequestResponse({
    type: ErrorResponseDto,
    description: 'Validation failed (per-field messages in details)',
  })
  async create(
    @CurrentUser() user: AuthUser,
    @Body() dto: CreateCustomerDto,
  ): Promise<CustomerResponseDto> {
    return toCustomerDto(await this.customers.create(user.organizationId, dto));
  }

  @Get()
  @ApiOperation({
    operationId: 'customers_list',
    summary: "List the organization's customers (newest first), with prefix search",
  })
  @ApiOkResponse({ type: CustomerPageDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Invalid query parameters' })
  async list(
    @CurrentUser() user: AuthUser,
    @Query() query: ListCustomersQueryDto,
  ): Promise<CustomerPageDto> {
    const page = await this.customers.list(user.organizationId, query);
    return { ...page, items: page.items.map(toCustomerDto) };
  }

  @Get(':id')
  @ApiParam({ name: 'id', description: 'Customer id', example: '665f1c2b1e6a3e4f7e9d0e0d' })
  @ApiOperation({ operationId: 'customers_get', summary: 'One customer of the organization' })
  @ApiOkResponse({ type: CustomerResponseDto })
  @ApiNotFoundResponse({
    type: ErrorResponseDto,
    description: 'No such customer in this organization',
  })
  async get(@CurrentUser() user: AuthUser, @Param('id') id: string): Promise<CustomerResponseDto> {
    return toCustomerDto(await this.customers.findOwned(user.organizationId, id));
  }

  @Patch(':id')
  @ApiParam({ name: 'id', description: 'Customer id', example: '665f1c2b1e6a3e4f7e9d0e0d' })
  @ApiOperation({
    operationId: 'customers_update',
    summary:
      'Change a customer; with a new phone, the contacts linked to it automatically by the old one are unlinked (or linked to the oldest other customer with their phone), and unlinked contacts with the new one are linked (and those linked automatically to a younger customer, when it is the oldest with that phone)',
  })
  @ApiOkResponse({ type: CustomerResponseDto })
  @ApiBadRequestResponse({
    type: ErrorResponseDto,
    description: 'Validation failed (per-field messages in details)',
  })
  @ApiNotFoundResponse({
    type: ErrorResponseDto,
    description: 'No such customer in this organization',
  })
  async update(
    @CurrentUser() user: AuthUser,
    @Param('id') id: string,
    @Body() dto: UpdateCustomerDto,
  ): Promise<CustomerResponseDto> {
    return toCustomerDto(await this.customers.update(user.organizationId, id, dto));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiParam({ name: 'id', description: 'Customer id', example: '665f1c2b1e6a3e4f7e9d0e0d' })
  @ApiOperation({
    operationId: 'customers_delete',
    summary:
      'Delete a customer; the contacts linked to it, by hand too, are unlinked, then linked to the oldest other customer with their phone if there is one',
  })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiNotFoundResponse({
    type: ErrorResponseDto,
    description: 'No such customer in this organization',
  })
  remove(@CurrentUser() user: AuthUser, @Param('id') id: string): Promise<void> {
    return this.customers.delete(user.organizationId, id);
  }
}
