import type { IncomingMessage, ServerResponse } from 'node:http';
import { DomainError } from '../errors/domain-error';

/** Media types the JSON body parser reads: application/json and any application/…+json. */
export const JSON_MEDIA_TYPES = ['application/json', 'application/*+json'];

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);
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

/**
 * Every route takes JSON. A POST, PUT or PATCH that carries a body of another (or no) Content-Type
 * would otherwise reach its handler as an empty body, and a PUT answer 200 having changed nothing:
 * it is refused with 415 UNSUPPORTED_MEDIA_TYPE instead. Requests without a body pass.
 */
export function jsonBodyOnly() {
  return (req: IncomingMessage, _res: ServerResponse, next: (err?: unknown) => void): void => {
    if (!BODY_METHODS.has(req.method ?? '') || !hasBody(req)) return next();
    const contentType = req.headers['content-type'];
    const type = mediaTypeOf(contentType);
    if (type && JSON_MEDIA_TYPE.test(type)) return next();
    next(new UnsupportedMediaTypeError(type));
  };
}
