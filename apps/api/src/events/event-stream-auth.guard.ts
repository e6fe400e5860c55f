import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import type { AuthUser } from '../auth/auth-user';
import { EventStreamAuthService } from './event-stream-auth.service';

/**
 * Authenticates `GET /events` (bearer header or `?access_token=` stream token) and sets
 * `request.user`. A guard, not a call in the handler, so it runs before the query is validated:
 * a request without credentials is a 401 whatever its query, as on every other route.
 */
@Injectable()
export class EventStreamAuthGuard implements CanActivate {
  constructor(private readonly auth: EventStreamAuthService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<Request & { user?: AuthUser }>();
    const queryToken = req.query.access_token;
    req.user = await this.auth.authenticate(
      req.headers.authorization,
      typeof queryToken === 'string' ? queryToken : undefined,
    );
    return true;
  }
}
