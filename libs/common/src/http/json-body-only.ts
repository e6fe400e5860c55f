import type { IncomingMessage, ServerResponse } from 'node:http';
import { DomainError } from '../errors/domain-error';

/** The methods whose routes may take a body; no GET or DELETE route takes one. */
export const BODY_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH']);
const JSON_MEDIA_TYPE = /^application\/(?:[\w.!#$%&'*^`|~-]+\+)?json$/;

export class UnsupportedMediaTypeError extends DomainError {
  constructor(contentType: string | undefined) {
    super(
      'UNSUPPORTED_MEDIA_TYPE',
      contentType
        ? `Content-Type ${contentType} is not supported: send the body as application/json`
        : 'A request body needs Content-Type: application/json',
      415,
      { contentType: contentType ?? null },
    );
  }
}

/** Whether the request carries a body: chunked, or a Content-Length other than 0. */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** The media type of a Content-Type header, lower-cased, without parameters. */
export function mediaTypeOf(contentType: string | undefined): string | undefined {
  const type = contentType?.split(';', 1)[0].trim().toLowerCase();
  return type || undefined;
}

/** Whether a Content-Type names JSON: application/json or application/…+json, any parameters. */
export function isJsonMediaType(contentType: string | undefined): boolean {
  const type = mediaTypeOf(contentType);
  return type !== undefined && JSON_MEDIA_TYPE.test(type);
}

/**
 * Every route takes JSON. A POST, PUT or PATCH that carries a body of another (or no) Content-Type
 * would otherwise reach its handler as an empty body, and a PUT answer 200 having changed nothing:
 * it is refused with 415 UNSUPPORTED_MEDIA_TYPE instead. Requests without a body pass.
 */
export function jsonBodyOnly() {
  return (req: IncomingMessage, _res: ServerResponse, next: (err?: unknown) => void): void => {
    if (!BODY_METHODS.has(req.method ?? '') || !hasBody(req)) return next();
    const contentType = req.headers['content-type'];
    if (isJsonMediaType(contentType)) return next();
    next(new UnsupportedMediaTypeError(mediaTypeOf(contentType)));
  };
}
