import type { IncomingMessage } from 'node:http';
import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import type { Observable } from 'rxjs';
import { validationFailed } from '../errors/validation';
import { hasBody } from './json-body-only';

/**
 * Absent or `{}`: what clients send to a route that takes nothing (a bare JSON `null` never gets
 * here: the JSON parser is strict). A body the JSON parser left unread or could not read (on a GET
 * or DELETE: another Content-Type, which jsonBodyOnly() lets through, or more than `{}` takes, or
 * one parsesJsonBody() and bodylessMethodBodyErrors() pass on unparsed) is not empty: `DELETE …/:id`
 * with a text body deleted, and `GET /events` with one opened its stream, as if nothing was sent.
 */
function isEmptyBody(req: IncomingMessage & { body?: unknown }): boolean {
  const { body } = req;
  if (body === undefined) return !hasBody(req);
  return (
    typeof body === 'object' && body !== null && !Array.isArray(body) && !Object.keys(body).length
  );
}

/**
 * A route without a body parameter refuses a body (400 VALIDATION_FAILED), as DTO routes refuse
 * unknown fields: `POST …/restart {"force": true}` would otherwise answer 200 having ignored what
 * the caller meant.
 */
@Injectable()
export class BodylessRoutesInterceptor implements NestInterceptor {
  private readonly takesBody = new WeakMap<object, boolean>();

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() === 'http') {
      const req = context.switchToHttp().getRequest<IncomingMessage & { body?: unknown }>();
      if (!isEmptyBody(req) && !this.routeTakesBody(context))
        throw validationFailed({ body: ['this route takes no request body'] });
    }
    return next.handle();
  }

  private routeTakesBody(context: ExecutionContext): boolean {
    const handler = context.getHandler();
    let takes = this.takesBody.get(handler);
    if (takes === undefined) {
      const args: Record<string, unknown> =
        Reflect.getMetadata(ROUTE_ARGS_METADATA, context.getClass(), handler.name) ?? {};
      takes = Object.keys(args).some((key) => key.split(':')[0] === String(RouteParamtypes.BODY));
      this.takesBody.set(handler, takes);
    }
    return takes;
  }
}
