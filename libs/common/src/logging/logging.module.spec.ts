import type { IncomingMessage, ServerResponse } from 'node:http';
import { requestIdMiddleware } from './logging.module';

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
