import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import type { AuthUser, JwtPayload } from '../auth/auth-user';
import { OrganizationsService } from '../organizations/organizations.service';
import type { UserRole } from '../organizations/schemas/user.schema';
import { UsersService } from '../organizations/users.service';
import { StreamModuleDisabledError, StreamUnauthorizedError } from './events.errors';

export const EVENTS_JWT = Symbol('EVENTS_JWT');
/** Audience of stream tokens. They carry no `sub`, so the global JwtStrategy refuses them everywhere else. */
export const STREAM_TOKEN_AUDIENCE = 'wa-gateway:events-stream';
export const STREAM_TOKEN_TTL_SECONDS = 60;

interface StreamTokenPayload {
  uid: string;
  org: string;
  role: UserRole;
  /** The user's token version, as in access tokens. */
  ver: number;
}

/** Who a token names, and the token version it was issued under. */
interface TokenHolder {
  userId: string;
  organizationId: string;
  tokenVersion: number;
}

/**
 * Authentication of `GET /events`, which is @Public() for the global guard so that EventSource
 * clients (no headers) can pass a short-lived `?access_token=`. A bearer header must hold a normal
 * access token (or a stream token); the query parameter only ever accepts a stream token.
 */
@Injectable()
export class EventStreamAuthService {
  constructor(
    @Inject(EVENTS_JWT) private readonly jwt: JwtService,
    private readonly users: UsersService,
    private readonly organizations: OrganizationsService,
  ) {}

  async issueStreamToken(user: AuthUser): Promise<{ token: string; expiresIn: number }> {
    const payload: StreamTokenPayload = {
      uid: user.userId,
      org: user.organizationId,
      role: user.role,
      ver: user.tokenVersion,
    };
    const token = await this.jwt.signAsync(payload, {
      audience: STREAM_TOKEN_AUDIENCE,
      expiresIn: STREAM_TOKEN_TTL_SECONDS,
    });
    return { token, expiresIn: STREAM_TOKEN_TTL_SECONDS };
  }

  /** The user behind the request (401), whose organization has the whatsapp module (403). */
  async authenticate(
    authorization: string | undefined,
    queryToken: string | undefined,
  ): Promise<AuthUser> {
    const bearer = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
    let holder: TokenHolder | undefined;
    if (bearer) {
      holder = (await this.fromStreamToken(bearer)) ?? (await this.fromAccessToken(bearer));
    } else if (queryToken) {
      holder = await this.fromStreamToken(queryToken);
    }
    if (!holder) throw new StreamUnauthorizedError();
    const user = await this.access(holder);
    if (user === 'unauthorized') throw new StreamUnauthorizedError();
    if (user === 'module-disabled') throw new StreamModuleDisabledError();
    return { ...holder, role: user.role, email: user.email };
  }

  /** Whether a stream opened by this user may go on: the same check as when it was opened. */
  async stillAllowed(user: AuthUser): Promise<boolean> {
    return typeof (await this.access(user)) === 'object';
  }

  /**
   * The user, if still active in that organization with the token's version (not disabled since),
   * and the organization has the module.
   */
  private async access({ userId, organizationId, tokenVersion }: TokenHolder) {
    const user = await this.users.findActive(userId);
    if (!user || String(user.organizationId) !== organizationId) return 'unauthorized' as const;
    if ((user.tokenVersion ?? 0) !== tokenVersion) return 'unauthorized' as const;
    if (!(await this.organizations.exists(organizationId))) return 'unauthorized' as const;
    if (!(await this.organizations.hasModule(organizationId, 'whatsapp')))
      return 'module-disabled' as const;
    return user;
  }

  private async fromStreamToken(token: string): Promise<TokenHolder | undefined> {
    try {
      const payload = await this.jwt.verifyAsync<StreamTokenPayload & { sub?: string }>(token, {
        audience: STREAM_TOKEN_AUDIENCE,
      });
      return payload.uid && payload.org && !payload.sub
        ? { userId: payload.uid, organizationId: payload.org, tokenVersion: payload.ver ?? 0 }
        : undefined;
    } catch {
      return undefined;
    }
  }

  private async fromAccessToken(token: string): Promise<TokenHolder | undefined> {
    try {
      const payload = await this.jwt.verifyAsync<JwtPayload & { aud?: unknown }>(token);
      return payload.sub && payload.org && payload.aud === undefined
        ? { userId: payload.sub, organizationId: payload.org, tokenVersion: payload.ver ?? 0 }
        : undefined;
    } catch {
      return undefined;
    }
  }
}
