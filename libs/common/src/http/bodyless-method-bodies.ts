import type { IncomingMessage, ServerResponse } from 'node:http';
import { BODY_METHODS, isJsonMediaType } from './json-body-only';

/** Room for the `{}` some clients send with a GET or DELETE (whitespace included). */
export const EMPTY_BODY_MAX_BYTES = 64;

/**
 * Which requests the JSON body parser reads (its `type` option). A POST, PUT or PATCH: its JSON body
 * (jsonBodyOnly() refused any other). A GET or DELETE: only a JSON body small enough to be the
 * empty `{}` that passes; any other is left unread, and UndeclaredInputInterceptor refuses it
 * once the route and the caller are known. The parser's 413 and 415 went undocumented on those
 * routes, and a body over the limit was read whole before the answer.
 */
export function parsesJsonBody(req: IncomingMessage): boolean {
  if (!isJsonMediaType(req.headers['content-type'])) return false;
  if (BODY_METHODS.has(req.method ?? '')) return true;
  return Number(req.headers['content-length'] ?? Infinity) <= EMPTY_BODY_MAX_BYTES;
}

/** An error of the body parser: it names its kind (`charset.unsupported`, …) and a 4xx status. */
function isBodyParserError(error: unknown): boolean {
  const { type, status } = (error ?? {}) as { type?: unknown; status?: unknown };
  return typeof type === 'string' && typeof status === 'number' && status >= 400 && status < 500;
}

/**
 * Error middleware for right after the JSON body parser: what it found wrong with the small body
 * of a GET or DELETE (a charset, an encoding, malformed JSON) is not answered as such but left to
 * the refusal of any body there, so that such a route answers one 400 to every body but `{}`.
 */
export function bodylessMethodBodyErrors() {
  return (
    error: unknown,
    req: IncomingMessage,
    _res: ServerResponse,
    next: (err?: unknown) => void,
  ): void => {
    next(isBodyParserError(error) && !BODY_METHODS.has(req.method ?? '') ? undefined : error);
  };
}
