import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pinoHttp } from 'pino-http';
import { loadConfig } from '../config/app-config';
import { pinoHttpOptions, redactUrlTokens, requestIdMiddleware } from './logging.module';

function run(headers: Record<string, string>, id?: string) {
  const req = { headers, id } as unknown as IncomingMessage & { id?: string };
  const set: Record<string, string> = {};
  const res = {
    setHeader: (name: string, value: string) => (set[name] = value),
  } as unknown as ServerResponse;
  const next = vi.fn();
  requestIdMiddleware()(req, res, next);
  return { req, set, next };
}

describe('requestIdMiddleware', () => {
  it('honours a sane incoming X-Request-Id and echoes it', () => {
    const { req, set, next } = run({ 'x-request-id': 'trace-abc-123' });
    expect(req.id).toBe('trace-abc-123');
    expect(set['X-Request-Id']).toBe('trace-abc-123');
    expect(next).toHaveBeenCalledOnce();
  });

  it('generates an id otherwise, and keeps one already assigned', () => {
    const fresh = run({ 'x-request-id': 'bad id with spaces' });
    expect(fresh.req.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(fresh.set['X-Request-Id']).toBe(fresh.req.id);
    const kept = run({}, 'already');
    expect(kept.req.id).toBe('already');
    expect(kept.set).toEqual({});
  });
});

describe('request log lines', () => {
  it('never hold the access_token of a URL (the event stream takes one in its query)', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const log = pinoHttp(pinoHttpOptions(loadConfig({ NODE_ENV: 'test' })), stream);
    const server = createServer((req, res) => {
      log(req, res);
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      await fetch(`http://127.0.0.1:${port}/api/v1/events?types=x&access_token=eyJ.SECRET.sig&b=1`);
      await vi.waitFor(() => expect(lines).toHaveLength(1));
    } finally {
      server.close();
    }
    const line = JSON.parse(lines[0]) as { req: { url: string; query?: unknown } };
    expect(lines[0]).not.toContain('SECRET');
    expect(line.req.url).toBe('/api/v1/events?types=x&access_token=[redacted]&b=1');
  });

  it('redacts the parameter wherever it stands in the query', () => {
    expect(redactUrlTokens('/a?access_token=x')).toBe('/a?access_token=[redacted]');
    expect(redactUrlTokens('/a?b=1&ACCESS_TOKEN=x#f')).toBe('/a?b=1&ACCESS_TOKEN=[redacted]#f');
    expect(redactUrlTokens('/a?my_access_token=x')).toBe('/a?my_access_token=x');
  });
});
