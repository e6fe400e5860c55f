import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoggerModule } from 'nestjs-pino';
import type { Options as PinoHttpOptions } from 'pino-http';
import type { AppConfig } from '../config/app-config';

const REQUEST_ID_HEADER = 'x-request-id';
const VALID_REQUEST_ID = /^[\w.:-]{1,128}$/;

/** Honours a sane incoming X-Request-Id, otherwise generates one; echoes it back. */
export function assignRequestId(req: IncomingMessage, res: ServerResponse): string {
  const incoming = req.headers[REQUEST_ID_HEADER];
  const candidate = Array.isArray(incoming) ? incoming[0] : incoming;
  const id = candidate && VALID_REQUEST_ID.test(candidate) ? candidate : randomUUID();
  res.setHeader('X-Request-Id', id);
  return id;
}

/**
 * Gives the request its id before anything else runs, body parsing included, so an error raised
 * there (malformed JSON, 413, 415) carries the id in its body and X-Request-Id header like any
 * other. pino-http keeps an id already on the request (`req.id || genReqId(…)`).
 */
export function requestIdMiddleware() {
  return (req: IncomingMessage & { id?: string }, res: ServerResponse, next: () => void): void => {
    req.id ??= assignRequestId(req, res);
    next();
  };
}

const TOKEN_PARAM = /([?&]access_token=)[^&#]*/gi;

/** A request URL as logged: an `access_token` query parameter (the event stream's) redacted. */
export function redactUrlTokens(url: string): string {
  return url.replace(TOKEN_PARAM, '$1[redacted]');
}

/** Structured JSON logs; pretty only in development. Secrets and message bodies are redacted. */
export function createLoggerModule(config: AppConfig) {
  return LoggerModule.forRoot({ pinoHttp: pinoHttpOptions(config) });
}

/** The request logger's options (exported for tests of what a log line holds). */
export function pinoHttpOptions(config: AppConfig): PinoHttpOptions {
  const pretty = config.NODE_ENV === 'development' && process.stdout.isTTY;
  return {
    level: config.LOG_LEVEL,
    genReqId: assignRequestId,
    transport: pretty ? { target: 'pino-pretty', options: { singleLine: true } } : undefined,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'req.query.access_token',
        'req.body.password',
        'req.body.text',
        'req.body.phone',
        'req.body.media',
        '*.password',
        '*.passwordHash',
        '*.accessToken',
        '*.secret',
      ],
      censor: '[redacted]',
    },
    // The redact paths above cannot reach inside a string: the URL is rewritten.
    serializers: {
      req: (req: { url?: string }) => ({
        ...req,
        ...(req.url ? { url: redactUrlTokens(req.url) } : {}),
      }),
    },
    customLogLevel: (_req, res, err) =>
      err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
    autoLogging: { ignore: (req) => req.url === '/health' },
  };
}
