import type { IncomingMessage } from 'node:http';
import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import type { Observable } from 'rxjs';
import { validationFailed } from '../errors/validation';
import { hasBody } from './json-body-only';
import { routeArgsOf, RouteParamtypes } from './route-args';

type InputRequest = IncomingMessage & { body?: unknown; query?: Record<string, unknown> };

/**
 * Absent or `{}`: what clients send to a route that takes nothing (a bare JSON `null` never gets
 * here: the JSON parser is strict). A body the JSON parser left unread or could not read (on a GET
 * or DELETE: another Content-Type, which jsonBodyOnly() lets through, or more than `{}` takes, or
 * one parsesJsonBody() and bodylessMethodBodyErrors() pass on unparsed) is not empty: `DELETE …/:id`
 * with a text body deleted, and `GET /events` with one opened its stream, as if nothing was sent.
 */
function isEmptyBody(req: InputRequest): boolean {
  const { body } = req;
  if (body === undefined) return !hasBody(req);
  return (
    typeof body === 'object' && body !== null && !Array.isArray(body) && !Object.keys(body).length
  );
}

/** What a route reads of the request, from its handler's parameter decorators. */
interface DeclaredInput {
  body: boolean;
  /** Every query parameter (a `@Query()` DTO, which validates them), or only these names. */
  query: true | ReadonlySet<string>;
}

/**
 * A route refuses input it does not declare (400 VALIDATION_FAILED), as DTO routes refuse unknown
 * fields and query parameters: a body sent to a route without a body parameter
 * (`POST …/restart {"force": true}` answered 200 having ignored what the caller meant), and a
 * query parameter on a route without a `@Query()` DTO (`GET /whatsapp/sessions?limt=5` answered
 * as if the typo had not been made). Runs after the guards: a caller without credentials gets the
 * 401 first, as on DTO routes.
 */
@Injectable()
export class UndeclaredInputInterceptor implements NestInterceptor {
  private readonly declared = new WeakMap<object, DeclaredInput>();

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() === 'http') {
      const req = context.switchToHttp().getRequest<InputRequest>();
      const declared = this.declaredInput(context);
      const details: Record<string, string[]> = {};
      if (!declared.body && !isEmptyBody(req)) details.body = ['this route takes no request body'];
      if (declared.query !== true) {
        for (const name of Object.keys(req.query ?? {}))
          if (!declared.query.has(name)) details[name] = [`property ${name} should not exist`];
      }
      if (Object.keys(details).length) throw validationFailed(details);
    }
    return next.handle();
  }

  private declaredInput(context: ExecutionContext): DeclaredInput {
    const handler = context.getHandler();
    let declared = this.declared.get(handler);
    if (!declared) {
      const args = routeArgsOf(context.getClass(), handler.name);
      const of = (type: RouteParamtypes) =>
        args.filter((arg) => arg.type === type).map((arg) => arg.data);
      const query = of(RouteParamtypes.QUERY);
      declared = {
        body: of(RouteParamtypes.BODY).length > 0,
        query: query.some((data) => data === undefined) || new Set(query.map(String)),
      };
      this.declared.set(handler, declared);
    }
    return declared;
  }
}
