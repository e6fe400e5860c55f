import type { IncomingMessage, ServerResponse } from 'node:http';
import { bodylessMethodBodyErrors, parsesJsonBody } from './bodyless-method-bodies';
import { UnsupportedMediaTypeError } from './json-body-only';

const request = (method: string, headers: Record<string, string>) =>
  ({ method, headers }) as unknown as IncomingMessage;
const json = (length: number | undefined, type = 'application/json') => ({
  'content-type': type,
  ...(length === undefined
    ? { 'transfer-encoding': 'chunked' }
    : { 'content-length': `${length}` }),
});

/** What the middleware passes on for `error` on a request of `method`. */
function passedOn(method: string, error: unknown): unknown {
  const next = vi.fn();
  bodylessMethodBodyErrors()(error, request(method, {}), {} as ServerResponse, next);
  expect(next).toHaveBeenCalledOnce();
  return next.mock.calls[0][0];
}

const parserError = (status: number, type: string) =>
  Object.assign(new Error(type), { status, statusCode: status, type, expose: true });

describe('parsesJsonBody', () => {
  it('reads the JSON body of a POST, PUT or PATCH, whatever its size', () => {
    for (const method of ['POST', 'PUT', 'PATCH']) {
      expect(parsesJsonBody(request(method, json(150 * 2 ** 20)))).toBe(true);
      expect(parsesJsonBody(request(method, json(undefined)))).toBe(true);
      expect(parsesJsonBody(request(method, json(20, 'application/merge-patch+json')))).toBe(true);
    }
    expect(parsesJsonBody(request('POST', json(2, 'text/plain')))).toBe(false);
  });

  it('reads of a GET or DELETE only a JSON body small enough to be the empty object', () => {
    for (const method of ['GET', 'DELETE']) {
      expect(parsesJsonBody(request(method, json(2)))).toBe(true);
      expect(parsesJsonBody(request(method, json(64)))).toBe(true);
      // Left unread, to be refused: over the size of `{}`, of unknown size, or not JSON.
      expect(parsesJsonBody(request(method, json(65)))).toBe(false);
      expect(parsesJsonBody(request(method, json(150 * 2 ** 20)))).toBe(false);
      expect(parsesJsonBody(request(method, json(undefined)))).toBe(false);
      expect(parsesJsonBody(request(method, json(2, 'text/plain')))).toBe(false);
    }
  });
});

describe('bodylessMethodBodyErrors', () => {
  it('lets a GET or DELETE go on past what the body parser found wrong with its body', () => {
    for (const method of ['GET', 'DELETE'])
      for (const error of [
        parserError(415, 'charset.unsupported'),
        parserError(415, 'encoding.unsupported'),
        parserError(400, 'entity.parse.failed'),
        parserError(413, 'entity.too.large'),
      ])
        expect(passedOn(method, error)).toBeUndefined();
  });

  it('passes on the body parser errors of a POST, PUT or PATCH, and every other error', () => {
    const charset = parserError(415, 'charset.unsupported');
    for (const method of ['POST', 'PUT', 'PATCH']) expect(passedOn(method, charset)).toBe(charset);
    const other = new Error('boom');
    expect(passedOn('GET', other)).toBe(other);
    const domain = new UnsupportedMediaTypeError('text/plain');
    expect(passedOn('GET', domain)).toBe(domain);
  });
});
