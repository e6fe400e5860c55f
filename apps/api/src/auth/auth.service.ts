import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import {
  APP_CONFIG,
  type AppConfig,
  DomainError,
  dummyPasswordHash,
  verifyPassword,
} from '@app/common';
import { toOrganizationDto, toUserDto } from '../organizations/organization.mapper';
import type { UserRecord } from '../organizations/organizations.repository';
import { OrganizationsService } from '../organizations/organizations.service';
import { UsersService } from '../organizations/users.service';
import type { AuthUser, JwtPayload } from './auth-user';
import type { AuthTokenResponseDto, LoginDto, MeResponseDto, RegisterDto } from './dto/auth.dto';
import { durationToSeconds } from './jwt-secret';
import { LoginThrottleService } from './login-throttle.service';

export class InvalidCredentialsError extends DomainError {
  constructor() {
    super('INVALID_CREDENTIALS', 'Invalid email or password', 401);
  }
}

@Injectable()
export class AuthService {
  private readonly expiresIn: number;

  constructor(
    private readonly organizations: OrganizationsService,
    private readonly users: UsersService,
    private readonly jwt: JwtService,
    private readonly throttle: LoginThrottleService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.expiresIn = durationToSeconds(config.JWT_EXPIRES_IN);
  }

  /** Creates the organization and its owner; the unique email index decides concurrent races. */
  async register(dto: RegisterDto): Promise<AuthTokenResponseDto> {
    const organization = await this.organizations.create(dto.organizationName);
    try {
      const user = await this.users.create({
        ...dto,
        organizationId: String(organization._id),
        role: 'owner',
      });
      return this.issue(user);
    } catch (error) {
      await this.organizations.remove(String(organization._id));
      throw error;
    }
  }

  /** Unknown email and wrong password answer the same and cost the same KDF work. */
  async login(dto: LoginDto): Promise<AuthTokenResponseDto> {
    const email = dto.email.toLowerCase();
    await this.throttle.reserve(email); // a failure until the password proves otherwise
    const user = await this.users.findByEmail(email);
    const valid = await verifyPassword(
      dto.password,
      user?.passwordHash ?? (await dummyPasswordHash()),
    );
    if (!user || !valid || user.disabled) throw new InvalidCredentialsError();
    await this.throttle.recordSuccess(email);
    return this.issue(user);
  }

  async me(auth: AuthUser): Promise<MeResponseDto> {
    const [user, organization] = await Promise.all([
      this.users.getInOrganization(auth.organizationId, auth.userId),
      this.organizations.get(auth.organizationId),
    ]);
    return { user: toUserDto(user), organization: toOrganizationDto(organization) };
  }

  private async issue(user: UserRecord): Promise<AuthTokenResponseDto> {
    const payload: JwtPayload = {
      sub: String(user._id),
      org: String(user.organizationId),
      role: user.role,
      ver: user.tokenVersion ?? 0,
    };
    const organization = await this.organizations.get(String(user.organizationId));
    return {
      accessToken: await this.jwt.signAsync(payload, { expiresIn: this.expiresIn }),
      tokenType: 'Bearer',
      expiresIn: this.expiresIn,
      user: toUserDto(user),
      organization: toOrganizationDto(organization),
    };
  }
}
