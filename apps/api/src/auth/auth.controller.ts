import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { ErrorResponseDto, RETRY_AFTER_HEADER } from '@app/common';
import type { AuthUser } from './auth-user';
import { AuthService } from './auth.service';
import { CurrentUser } from './decorators/current-user.decorator';
import { Public } from './decorators/public.decorator';
import { LimitPerAddress } from './guards/limit-per-address.decorator';
import { AuthTokenResponseDto, LoginDto, MeResponseDto, RegisterDto } from './dto/auth.dto';

/** A race the token check cannot see: the organization deleted while the request ran. */
const ORGANIZATION_GONE =
  'The organization was deleted while the request ran (code ORGANIZATION_NOT_FOUND)';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Post('register')
  @Public()
  @LimitPerAddress(20, 3_600_000)
  @ApiOperation({
    operationId: 'auth_register',
    summary: 'Create an organization and its owner; returns a token',
    security: [],
  })
  @ApiCreatedResponse({ type: AuthTokenResponseDto })
  @ApiBadRequestResponse({
    type: ErrorResponseDto,
    description: 'Validation failed (per-field messages in details)',
  })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'Email already registered' })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: ORGANIZATION_GONE })
  @ApiTooManyRequestsResponse({
    type: ErrorResponseDto,
    description: 'More than 20 registrations an hour from this address (Retry-After header)',
    headers: { 'Retry-After': RETRY_AFTER_HEADER },
  })
  register(@Body() dto: RegisterDto): Promise<AuthTokenResponseDto> {
    return this.auth.register(dto);
  }

  @Post('login')
  @Public()
  @HttpCode(200)
  @LimitPerAddress(30, 60_000)
  @ApiOperation({
    operationId: 'auth_login',
    summary: 'Exchange email and password for a token',
    security: [],
  })
  @ApiOkResponse({ type: AuthTokenResponseDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiUnauthorizedResponse({ type: ErrorResponseDto, description: 'Invalid email or password' })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: ORGANIZATION_GONE })
  @ApiTooManyRequestsResponse({
    type: ErrorResponseDto,
    description: 'Too many attempts (Retry-After header)',
    headers: { 'Retry-After': RETRY_AFTER_HEADER },
  })
  login(@Body() dto: LoginDto): Promise<AuthTokenResponseDto> {
    return this.auth.login(dto);
  }

  @Get('me')
  @ApiBearerAuth('bearer')
  @ApiOperation({ operationId: 'auth_me', summary: 'The current user and organization' })
  @ApiOkResponse({ type: MeResponseDto })
  @ApiUnauthorizedResponse({ type: ErrorResponseDto })
  @ApiNotFoundResponse({
    type: ErrorResponseDto,
    description:
      'The user (USER_NOT_FOUND) or its organization (ORGANIZATION_NOT_FOUND) was deleted while the request ran',
  })
  me(@CurrentUser() user: AuthUser): Promise<MeResponseDto> {
    return this.auth.me(user);
  }
}
