import { ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { isTransientDatabaseError } from '@app/common';
import { IS_PUBLIC_KEY } from '../decorators/public.decorator';

/** Global: every route needs a valid bearer token unless marked @Public(). */
@Injectable()
export class JwtAuthGuard extends AuthGuard('jwt') {
  constructor(private readonly reflector: Reflector) {
    super();
  }

  canActivate(context: ExecutionContext) {
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    return isPublic ? true : super.canActivate(context);
  }

  handleRequest<T>(err: unknown, user: T): T {
    // The token could not be checked, which says nothing about it: a 401 would log clients out.
    if (isTransientDatabaseError(err)) throw err;
    if (err || !user) {
      throw new UnauthorizedException({
        message: 'Missing, invalid or expired access token',
        code: 'UNAUTHORIZED',
      });
    }
    return user;
  }
}
