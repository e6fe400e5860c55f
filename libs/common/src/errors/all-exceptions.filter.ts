import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  HttpException,
  HttpStatus,
  Logger,
} from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import type { Request, Response } from 'express';
import { isTransientDatabaseError } from '../mongo/database-outage';
import { DomainError } from './domain-error';
import { ErrorResponseDto } from './error-response.dto';
import { BODY_NOT_OBJECT_MESSAGE } from './validation';

interface HttpErrorBody {
  message?: unknown;
  code?: string;
  details?: unknown;
}

/**
 * How long a client waits before trying again after a 503 that does not say (the database cannot
 * be reached, the instance holding a session did not answer, this instance is shutting down): a
 * 503 always clears by itself, and clients (the SDK's event stream among them) wait for this.
 */
const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

interface CodedError extends Error {
  code: string;
  httpStatus: number;
  details?: unknown;
}
const isCodedError = (e: unknown): e is CodedError =>
  e instanceof Error &&
  typeof (e as CodedError).code === 'string' &&
  typeof (e as CodedError).httpStatus === 'number';

/**
 * The code of an error Express or body-parser raised before any route ran (they carry a 4xx
 * `status`; Nest wraps them in an HttpException whose `cause` they are): malformed JSON, a body
 * past the limit, an unsupported charset, a malformed path.
 */
function requestErrorCode(error: unknown): string | undefined {
  const status = (error as { status?: unknown } | undefined)?.status;
  if (!(error instanceof Error) || typeof status !== 'number' || status < 400 || status >= 500)
    return undefined;
  if ((error as { type?: unknown }).type === 'entity.parse.failed') return 'INVALID_JSON';
  if (status === 413) return 'PAYLOAD_TOO_LARGE';
  if (status === 415) return 'UNSUPPORTED_MEDIA_TYPE';
  return 'BAD_REQUEST';
}

/**
 * What a person reads for a body-parser error: what was wrong and what to send instead (its own
 * messages, e.g. "request entity too large", said neither).
 */
function requestErrorMessage(error: Error): string {
  const { type, limit, charset, encoding } = error as Error & Record<string, unknown>;
  switch (type) {
    case 'entity.parse.failed':
      return `The request body is not valid JSON: ${error.message}`;
    case 'entity.too.large':
      return typeof limit === 'number'
        ? `The request body is over the ${Math.round(limit / 2 ** 20)} MB limit`
        : 'The request body is too large';
    case 'charset.unsupported':
      return `The charset ${String(charset).toUpperCase()} is not supported: send the body as UTF-8`;
    case 'encoding.unsupported':
      return `Content-Encoding ${String(encoding)} is not supported: send the body uncompressed, or as gzip, deflate or br`;
    default:
      return error.message;
  }
}

/**
 * body-parser refuses a bare JSON value (`null`, `42`, `"x"`) as a syntax error ("not valid
 * JSON"), which it is not: valid JSON of the wrong shape, answered as an array body is
 * (validation.ts). Undefined for anything else.
 */
function bareJsonValue(error: unknown): ErrorResponseDto['details'] | undefined {
  const body = (error as { body?: unknown } | undefined)?.body;
  if (requestErrorCode(error) !== 'INVALID_JSON' || typeof body !== 'string') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined; // really malformed
  }
  return {
    '(root)': [`must be a JSON object, not ${value === null ? 'null' : `a ${typeof value}`}`],
  };
}

/** One JSON error shape for everything; stacks are logged, never sent. */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Exceptions');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<Request & { id?: string }>();
    const res = ctx.getResponse<Response>();
    const body = this.toBody(exception, String(req.id ?? res.getHeader('x-request-id') ?? ''));
    if (body.code === 'DATABASE_UNAVAILABLE') {
      // Expected during an outage, for every request: one line each, not a stack at error level.
      const reason = exception instanceof Error ? exception.message : String(exception);
      this.logger.warn({ requestId: body.requestId, reason }, 'Database unreachable: answered 503');
    } else if (exception instanceof DomainError && body.statusCode === 503) {
      // A state we answer on purpose (not ready, shutting down, the holder away): probes and
      // clients repeat it, so one line each, not a stack at error level.
      const reason = exception.message;
      this.logger.warn({ requestId: body.requestId, code: body.code, reason }, 'Answered 503');
    } else if (body.statusCode >= 500) {
      this.logger.error({ err: exception, requestId: body.requestId }, 'Unhandled error');
    }
    if (res.headersSent) return;
    const headers = exception instanceof DomainError ? exception.headers : undefined;
    if (headers) res.set(headers);
    if (body.statusCode === 503 && !headers?.['Retry-After'])
      res.set({ 'Retry-After': String(UNAVAILABLE_RETRY_AFTER_SECONDS) });
    res.status(body.statusCode).json(body);
  }

  private toBody(exception: unknown, requestId: string): ErrorResponseDto {
    if (exception instanceof DomainError) {
      return this.shape(
        exception.status,
        exception.message,
        requestId,
        exception.code,
        exception.details,
      );
    }
    if (isCodedError(exception)) {
      // Domain errors of libs that do not depend on libs/common (e.g. libs/whatsapp).
      return this.shape(
        exception.httpStatus,
        exception.message,
        requestId,
        exception.code,
        exception.details,
      );
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      const payload: HttpErrorBody =
        typeof response === 'object' && response !== null ? (response as HttpErrorBody) : {};
      const message = typeof response === 'string' ? response : payload.message;
      if (Array.isArray(message)) {
        return this.shape(
          status,
          'Validation failed',
          requestId,
          payload.code ?? 'VALIDATION_FAILED',
          payload.details ?? message,
        );
      }
      const bare = bareJsonValue(exception.cause);
      if (bare)
        return this.shape(400, BODY_NOT_OBJECT_MESSAGE, requestId, 'VALIDATION_FAILED', bare);
      const parserCode = payload.code ? undefined : requestErrorCode(exception.cause);
      if (parserCode)
        return this.shape(
          status,
          requestErrorMessage(exception.cause as Error),
          requestId,
          parserCode,
        );
      return this.shape(
        status,
        typeof message === 'string' ? message : exception.message,
        requestId,
        payload.code,
        payload.details,
      );
    }
    // Body-parser errors that reach the filter unwrapped (e.g. 413 payload too large, 400 bad JSON).
    const code = requestErrorCode(exception);
    if (code) {
      const bare = bareJsonValue(exception);
      if (bare)
        return this.shape(400, BODY_NOT_OBJECT_MESSAGE, requestId, 'VALIDATION_FAILED', bare);
      return this.shape(
        (exception as { status: number }).status,
        requestErrorMessage(exception as Error),
        requestId,
        code,
      );
    }
    // Not a fault of the request nor of ours: the same request succeeds once the database is back.
    if (isTransientDatabaseError(exception))
      return this.shape(
        HttpStatus.SERVICE_UNAVAILABLE,
        'The database cannot be reached; try again shortly',
        requestId,
        'DATABASE_UNAVAILABLE',
      );
    return this.shape(
      HttpStatus.INTERNAL_SERVER_ERROR,
      'Internal server error',
      requestId,
      'INTERNAL',
    );
  }

  private shape(
    statusCode: number,
    message: string,
    requestId: string,
    code?: string,
    details?: unknown,
  ): ErrorResponseDto {
    const body: ErrorResponseDto = {
      statusCode,
      error: STATUS_CODES[statusCode] ?? 'Error',
      message,
      requestId,
    };
    if (code) body.code = code;
    if (details !== undefined) body.details = details;
    return body;
  }
}
