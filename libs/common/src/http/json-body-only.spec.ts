import type { IncomingMessage, ServerResponse } from 'node:http';
import { jsonBodyOnly, mediaTypeOf, UnsupportedMediaTypeError } from './json-body-only';

function run(method: string, headers: Record<string, string>): unknown {
  const next = vi.fn();
  jsonBodyOnly()({ method, headers } as unknown as IncomingMessage, {} as ServerResponse, next);
  expect(next).toHaveBeenCalledOnce();
  return next.mock.calls[0][0];
}

describe('jsonBodyOnly', () => {
  it('lets JSON bodies through, +json and parameters included', () => {
    for (const type of [
      'application/json',
      'Application/JSON; charset=utf-8',
      'application/merge-patch+json',
      'application/vnd.api+json',
    ])
      expect(run('PUT', { 'content-type': type, 'content-length': '2' })).toBeUndefined();
  });

  it('refuses a POST, PUT or PATCH body of another type with 415 UNSUPPORTED_MEDIA_TYPE', () => {
    for (const method of ['POST', 'PUT', 'PATCH']) {
      const err = run(method, { 'content-type': 'text/plain', 'content-length': '13' });
      expect(err).toBeInstanceOf(UnsupportedMediaTypeError);
      expect(err).toMatchObject({
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
        details: { contentType: 'text/plain' },
      });
    }
    for (const type of [
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/jsonx',
      'text/json',
    ])
      expect(run('POST', { 'content-type': type, 'transfer-encoding': 'chunked' })).toBeInstanceOf(
        UnsupportedMediaTypeError,
      );
    expect(run('POST', { 'content-length': '5' })).toMatchObject({
      code: 'UNSUPPORTED_MEDIA_TYPE',
      message: 'A request body needs Content-Type: application/json',
    });
  });

  it('leaves requests without a body, and other methods, alone', () => {
    expect(run('POST', {})).toBeUndefined();
    expect(run('PUT', { 'content-type': 'text/plain', 'content-length': '0' })).toBeUndefined();
    expect(run('GET', { 'content-type': 'text/plain', 'content-length': '4' })).toBeUndefined();
    expect(run('DELETE', { 'content-type': 'text/plain', 'content-length': '4' })).toBeUndefined();
  });

  it('reads the media type without parameters', () => {
    expect(mediaTypeOf(' Text/Plain ; charset=utf-8')).toBe('text/plain');
    expect(mediaTypeOf(undefined)).toBeUndefined();
    expect(mediaTypeOf('')).toBeUndefined();
  });
});
