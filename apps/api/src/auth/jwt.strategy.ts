import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { OrganizationsService } from '../organizations/organizations.service';
import { UsersService } from '../organizations/users.service';
import type { AuthUser, JwtPayload } from './auth-user';

export const JWT_SECRET = Symbol('JWT_SECRET');
export const JWT_ALGORITHM = 'HS256';

@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy) {
  constructor(
    @Inject(JWT_SECRET) secret: string,
    private readonly users: UsersService,
    private readonly organizations: OrganizationsService,
  ) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      secretOrKey: secret,
      // Pinned: rejects alg=none and algorithm-confusion tokens.
      algorithms: [JWT_ALGORITHM],
      ignoreExpiration: false,
    });
  }

  /**
   * Tokens of deleted or disabled users, or of deleted organizations, stop working (within the
   * caches' few seconds), and stay dead when the user is enabled again (their version is older).
   */
  async validate(payload: JwtPayload): Promise<AuthUser | false> {
    if (!payload?.sub) return false;
    const user = await this.users.findActive(payload.sub);
    if (!user || String(user.organizationId) !== payload.org) return false;
    if ((payload.ver ?? 0) !== (user.tokenVersion ?? 0)) return false;
    if (!(await this.organizations.exists(payload.org))) return false;
    return {
      userId: String(user._id),
      organizationId: String(user.organizationId),
      role: user.role,
      email: user.email,
      tokenVersion: user.tokenVersion ?? 0,
    };
  }
}
