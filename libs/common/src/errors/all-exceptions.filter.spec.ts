import { BadRequestException, HttpException, Logger, type ArgumentsHost } from '@nestjs/common';
import { AllExceptionsFilter } from './all-exceptions.filter';
import { DomainError } from './domain-error';
import { MongoServerError, MongoServerSelectionError } from 'mongodb';

/** An http-errors instance as body-parser raises it. */
function parserError(
  status: number,
  type: string,
  message: string,
  fields: Record<string, unknown> = {},
): Error {
  return Object.assign(new Error(message), {
    status,
    statusCode: status,
    type,
    expose: true,
    ...fields,
  });
}

function respond(exception: unknown, requestId = 'req-1') {
  const res = {
    headersSent: false,
    statusCode: 0,
    body: undefined as unknown,
    getHeader: () => undefined,
    set: vi.fn(),
    status(code: number) {
      this.statusCode = code;
      return this;
    },
    json(body: unknown) {
      this.body = body;
      return this;
    },
  };
  const host = {
    switchToHttp: () => ({ getRequest: () => ({ id: requestId }), getResponse: () => res }),
  } as unknown as ArgumentsHost;
  new AllExceptionsFilter().catch(exception, host);
  return res;
}

describe('AllExceptionsFilter, errors raised before a route runs', () => {
  it('codes malformed JSON as Nest hands it over (a BadRequestException caused by the parser)', () => {
    const cause = Object.assign(new SyntaxError('Unexpected token b in JSON at position 1'), {
      status: 400,
      type: 'entity.parse.failed',
    });
    const res = respond(new BadRequestException(cause.message, { cause }));
    expect(res.statusCode).toBe(400);
    expect(res.body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      code: 'INVALID_JSON',
      message: 'The request body is not valid JSON: Unexpected token b in JSON at position 1',
      requestId: 'req-1',
    });
  });

  it('codes a body past the limit, an unsupported charset or encoding and other parser errors, saying what to send', () => {
    const tooLarge = parserError(413, 'entity.too.large', 'request entity too large', {
      limit: 140 * 2 ** 20,
    });
    expect(respond(new HttpException(tooLarge.message, 413, { cause: tooLarge })).body).toEqual({
      statusCode: 413,
      error: 'Payload Too Large',
      code: 'PAYLOAD_TOO_LARGE',
      message: 'The request body is over the 140 MB limit',
      requestId: 'req-1',
    });
    const charset = parserError(415, 'charset.unsupported', 'unsupported charset "LATIN-9"', {
      charset: 'latin-9',
    });
    expect(respond(new HttpException(charset.message, 415, { cause: charset })).body).toMatchObject(
      {
        statusCode: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
        message: 'The charset LATIN-9 is not supported: send the body as UTF-8',
      },
    );
    const encoding = parserError(415, 'encoding.unsupported', 'unsupported content encoding "x"', {
      encoding: 'x',
    });
    expect(respond(encoding).body).toMatchObject({
      statusCode: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
      message:
        'Content-Encoding x is not supported: send the body uncompressed, or as gzip, deflate or br',
    });
    const aborted = parserError(400, 'request.aborted', 'request aborted');
    expect(respond(new HttpException(aborted.message, 400, { cause: aborted })).body).toMatchObject(
      { statusCode: 400, code: 'BAD_REQUEST', message: 'request aborted' },
    );
  });

  it('codes parser errors that arrive unwrapped, and leaves other HttpExceptions uncoded', () => {
    expect(respond(parserError(413, 'entity.too.large', 'request entity too large')).body).toEqual(
      expect.objectContaining({ statusCode: 413, code: 'PAYLOAD_TOO_LARGE', requestId: 'req-1' }),
    );
    expect(respond(new BadRequestException('plain')).body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'plain',
      requestId: 'req-1',
    });
    expect(respond(new Error('boom')).body).toMatchObject({ statusCode: 500, code: 'INTERNAL' });
  });
});

describe('AllExceptionsFilter, a 503', () => {
  afterEach(() => vi.restoreAllMocks());

  it('says when to retry also for a coded error of a lib that gives no Retry-After', () => {
    vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const busy = Object.assign(new Error('The instance running "main" did not answer'), {
      code: 'SESSION_HOLDER_UNAVAILABLE',
      httpStatus: 503,
    });
    const res = respond(busy);
    expect(res.statusCode).toBe(503);
    expect(res.set).toHaveBeenCalledWith({ 'Retry-After': '5' });
  });

  it("keeps a domain error's own Retry-After", () => {
    vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const error = new DomainError('MAINTENANCE', 'Back soon', 503);
    error.headers = { 'Retry-After': '60' };
    const res = respond(error);
    expect(res.set.mock.calls).toEqual([[{ 'Retry-After': '60' }]]);
  });

  it('logs a coded 503 (not ready, shutting down) as one warning line, not as an unhandled error', () => {
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const error = vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    respond(new DomainError('NOT_READY', 'Not ready: database is down', 503));
    expect(error).not.toHaveBeenCalled();
    expect(warn).toHaveBeenCalledWith(
      { requestId: 'req-1', code: 'NOT_READY', reason: 'Not ready: database is down' },
      'Answered 503',
    );
  });

  it('adds none to other statuses', () => {
    const res = respond(new DomainError('SESSION_EXISTS', 'exists', 409));
    expect(res.set).not.toHaveBeenCalled();
  });
});

describe('AllExceptionsFilter, a database that cannot be reached', () => {
  afterEach(() => vi.restoreAllMocks());

  it('answers 503 DATABASE_UNAVAILABLE with Retry-After instead of a 500', () => {
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const error = vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const res = respond(
      new MongoServerSelectionError('connect ECONNREFUSED 127.0.0.1:27017', {
        type: 'Unknown',
        servers: new Map(),
      } as never),
    );
    expect(res.statusCode).toBe(503);
    expect(res.body).toMatchObject({
      statusCode: 503,
      error: 'Service Unavailable',
      code: 'DATABASE_UNAVAILABLE',
      requestId: 'req-1',
    });
    expect(res.set).toHaveBeenCalledWith({ 'Retry-After': '5' });
    // Every request of an outage gets one: a warning line with the reason, no stack.
    expect(error).not.toHaveBeenCalled();
    expect(warn).toHaveBeenCalledWith(
      { requestId: 'req-1', reason: 'connect ECONNREFUSED 127.0.0.1:27017' },
      'Database unreachable: answered 503',
    );
  });

  it('keeps other failures a 500', () => {
    const res = respond(new MongoServerError({ message: 'E11000 duplicate key', code: 11000 }));
    expect(res.statusCode).toBe(500);
    expect(res.set).not.toHaveBeenCalled();
  });
});
