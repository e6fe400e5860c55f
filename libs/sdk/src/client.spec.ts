import { ApiError, createGatewayClient, type Schemas } from '@app/sdk';

interface Seen {
  method: string;
  url: URL;
  headers: Headers;
  body: unknown;
}

/** A fetch that records requests and answers from a handler (JSON bodies). */
function stubFetch(
  handler: (req: Seen) => { status?: number; body?: unknown; headers?: Record<string, string> },
) {
  const seen: Seen[] = [];
  const fetch = vi.fn(async (input: string | URL | Request, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(input, init);
    const text = request.body ? await request.text() : '';
    const req = {
      method: request.method,
      url: new URL(request.url),
      headers: request.headers,
      body: text ? JSON.parse(text) : undefined,
    };
    seen.push(req);
    const { status = 200, body, headers = {} } = handler(req);
    const payload =
      body === undefined ? null : typeof body === 'string' ? body : JSON.stringify(body);
    return new Response(payload, {
      status,
      headers: {
        ...(typeof body === 'object' ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
    });
  });
  return { fetch: fetch as unknown as typeof globalThis.fetch, seen };
}

const message = (i: number): Schemas['MessageResponseDto'] =>
  ({
    id: `m${i}`,
    sessionName: 'main',
    direction: 'out',
    status: 'sent',
    type: 'text',
    chatJid: 'x@s.whatsapp.net',
    fromMe: true,
    attempts: 1,
  }) as Schemas['MessageResponseDto'];

describe('createGatewayClient', () => {
  it('sends JSON to the base URL with the bearer token and resolves to the body', async () => {
    const { fetch, seen } = stubFetch(() => ({
      status: 201,
      body: { sessionName: 'main', status: 'connecting' },
    }));
    const client = createGatewayClient({ baseUrl: 'http://gw.test:5000/', token: 't0', fetch });

    const session = await client.post('/api/v1/whatsapp/sessions', {
      body: { sessionName: 'main' },
    });

    expect(session.status).toBe('connecting');
    expect(seen[0].method).toBe('POST');
    expect(seen[0].url.href).toBe('http://gw.test:5000/api/v1/whatsapp/sessions');
    expect(seen[0].headers.get('authorization')).toBe('Bearer t0');
    expect(seen[0].body).toEqual({ sessionName: 'main' });
  });

  it('setToken changes (and clears) the Authorization header of later calls', async () => {
    const { fetch, seen } = stubFetch(() => ({ body: [] }));
    const client = createGatewayClient({ baseUrl: 'http://gw.test', fetch });
    await client.get('/api/v1/whatsapp/sessions');
    client.setToken('t1');
    await client.get('/api/v1/whatsapp/sessions');
    client.setToken(undefined);
    await client.get('/api/v1/whatsapp/sessions');
    expect(seen.map((s) => s.headers.get('authorization'))).toEqual([null, 'Bearer t1', null]);
    expect(client.token).toBeUndefined();
  });

  it('fills path and query parameters', async () => {
    const { fetch, seen } = stubFetch(() => ({
      body: {
        qr: 'data:image/png;base64,AA',
        status: 'qr_ready',
        expiresAt: '2026-01-01T00:00:00Z',
      },
    }));
    const client = createGatewayClient({ baseUrl: 'http://gw.test', fetch });
    await client.get('/api/v1/whatsapp/sessions/{name}/qr', {
      params: { path: { name: 'sales 1' } },
    });
    await client.get('/api/v1/whatsapp/messages', {
      params: { query: { status: 'failed', limit: 5 } },
    });
    expect(seen[0].url.pathname).toBe('/api/v1/whatsapp/sessions/sales%201/qr');
    expect(Object.fromEntries(seen[1].url.searchParams)).toEqual({ status: 'failed', limit: '5' });
  });

  it('rejects a non-2xx answer with an ApiError carrying the error shape', async () => {
    const body = {
      statusCode: 409,
      error: 'Conflict',
      code: 'SESSION_EXISTS',
      message: 'Session main already exists',
      requestId: 'req-1',
      details: { sessionName: 'main' },
    };
    const { fetch } = stubFetch(() => ({ status: 409, body }));
    const client = createGatewayClient({ baseUrl: 'http://gw.test', fetch });

    const error = await client
      .post('/api/v1/whatsapp/sessions', { body: { sessionName: 'main' } })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({
      name: 'ApiError',
      status: 409,
      code: 'SESSION_EXISTS',
      message: 'Session main already exists',
      requestId: 'req-1',
      details: { sessionName: 'main' },
      body,
    });
  });

  it("carries the answer's Retry-After, which a 409 IDEMPOTENCY_KEY_IN_USE names only there", async () => {
    const inUse = {
      statusCode: 409,
      error: 'Conflict',
      code: 'IDEMPOTENCY_KEY_IN_USE',
      message: 'A request with this Idempotency-Key is still being processed; retry shortly',
      requestId: 'req-2',
      details: { idempotencyKey: 'k1' },
    };
    let retryAfter = '1';
    const { fetch } = stubFetch(() => ({
      status: 409,
      body: inUse,
      headers: { 'retry-after': retryAfter },
    }));
    const client = createGatewayClient({ baseUrl: 'http://gw.test', fetch });
    const send = async () =>
      (await client
        .post('/api/v1/whatsapp/messages/send', {
          params: { header: { 'idempotency-key': 'k1' } },
          body: { sessionName: 'main', to: '+201001234567', text: 'hi' },
        })
        .catch((e: unknown) => e)) as ApiError;

    expect(await send()).toMatchObject({ status: 409, retryAfterSeconds: 1 });
    // An HTTP date counts from now, never below 0; none or garbage is undefined.
    retryAfter = new Date(Date.now() + 90_000).toUTCString();
    expect((await send()).retryAfterSeconds).toBeGreaterThanOrEqual(89);
    expect((await send()).retryAfterSeconds).toBeLessThanOrEqual(90);
    retryAfter = 'Thu, 01 Jan 1970 00:00:00 GMT';
    expect((await send()).retryAfterSeconds).toBe(0);
    retryAfter = 'soon';
    expect((await send()).retryAfterSeconds).toBeUndefined();
  });

  it('builds an ApiError from a non-JSON answer (e.g. a proxy) with the X-Request-Id header', async () => {
    const { fetch } = stubFetch(() => ({
      status: 502,
      body: 'Bad gateway',
      headers: { 'x-request-id': 'abc' },
    }));
    const client = createGatewayClient({ baseUrl: 'http://gw.test', fetch });
    const error = (await client.get('/api/v1/auth/me').catch((e: unknown) => e)) as ApiError;
    expect(error).toBeInstanceOf(ApiError);
    expect(error.status).toBe(502);
    expect(error.code).toBeUndefined();
    expect(error.requestId).toBe('abc');
    expect(error.message).toBe('HTTP 502: Bad gateway');
  });

  it('resolves 204 answers to undefined', async () => {
    const { fetch, seen } = stubFetch(() => ({ status: 204 }));
    const client = createGatewayClient({ baseUrl: 'http://gw.test', token: 't', fetch });
    await expect(
      client.delete('/api/v1/whatsapp/sessions/{name}', { params: { path: { name: 'main' } } }),
    ).resolves.toBeUndefined();
    expect(seen[0].method).toBe('DELETE');
  });

  it('resolves a route answering bytes (message media) to a Blob of the served type', async () => {
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff]);
    const fetch = (async () =>
      new Response(png, {
        headers: { 'content-type': 'image/png', 'content-length': String(png.length) },
      })) as unknown as typeof globalThis.fetch;
    const client = createGatewayClient({ baseUrl: 'http://gw.test', fetch });

    const media: Blob = await client.get('/api/v1/whatsapp/messages/{id}/media', {
      params: { path: { id: 'm1' } },
    });

    expect(media).toBeInstanceOf(Blob);
    expect(media.type).toBe('image/png');
    expect(new Uint8Array(await media.arrayBuffer())).toEqual(png);
    // openapi-fetch's parseAs still picks the shape when given.
    const buffer: ArrayBuffer = await client.get('/api/v1/whatsapp/messages/{id}/media', {
      params: { path: { id: 'm1' } },
      parseAs: 'arrayBuffer',
    });
    expect(new Uint8Array(buffer)).toEqual(png);
  });

  it('resolves media a sender typed as JSON (a .json document, or a range of one) to a Blob', async () => {
    const partial = new TextEncoder().encode('{"order": 12, "items": [');
    const fetch = (async () =>
      new Response(partial, {
        status: 206,
        headers: {
          'content-type': 'application/json',
          'content-disposition': 'attachment; filename="order.json"',
        },
      })) as unknown as typeof globalThis.fetch;
    const client = createGatewayClient({ baseUrl: 'http://gw.test', fetch });

    const media: Blob = await client.get('/api/v1/whatsapp/messages/{id}/media', {
      params: { path: { id: 'm1' }, header: { Range: 'bytes=0-23' } },
    });

    expect(media).toBeInstanceOf(Blob);
    expect(media.type).toBe('application/json');
    expect(new Uint8Array(await media.arrayBuffer())).toEqual(partial);
  });

  it('paginate() walks every page until total is reached, keeping the filters', async () => {
    const all = Array.from({ length: 5 }, (_, i) => message(i));
    const { fetch, seen } = stubFetch(({ url }) => {
      const page = Number(url.searchParams.get('page'));
      const limit = Number(url.searchParams.get('limit'));
      return {
        body: {
          items: all.slice((page - 1) * limit, page * limit),
          total: all.length,
          page,
          limit,
        },
      };
    });
    const client = createGatewayClient({ baseUrl: 'http://gw.test', fetch });

    const ids: string[] = [];
    for await (const m of client.paginate('/api/v1/whatsapp/messages', {
      sessionName: 'main',
      limit: 2,
    }))
      ids.push(m.id);

    expect(ids).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    expect(seen.map((s) => s.url.searchParams.get('page'))).toEqual(['1', '2', '3']);
    expect(seen.every((s) => s.url.searchParams.get('sessionName') === 'main')).toBe(true);
  });

  it('paginate() uses 100 per page by default and stops on an empty page', async () => {
    const { fetch, seen } = stubFetch(() => ({
      body: { items: [], total: 7, page: 1, limit: 100 },
    }));
    const client = createGatewayClient({ baseUrl: 'http://gw.test', fetch });
    const items = [];
    for await (const c of client.paginate('/api/v1/whatsapp/contacts')) items.push(c);
    expect(items).toEqual([]);
    expect(seen).toHaveLength(1);
    expect(seen[0].url.searchParams.get('limit')).toBe('100');
  });

  it('paginate() fills the path parameters of a route that has them, on every page', async () => {
    const all = Array.from({ length: 3 }, (_, i) => ({ id: `d${i}`, webhookId: 'w 1' }));
    const { fetch, seen } = stubFetch(({ url }) => {
      if (url.pathname !== '/api/v1/webhooks/w%201/deliveries') return { status: 404, body: {} };
      const page = Number(url.searchParams.get('page'));
      return { body: { items: all.slice((page - 1) * 2, page * 2), total: 3, page, limit: 2 } };
    });
    const client = createGatewayClient({ baseUrl: 'http://gw.test', fetch });

    const ids: string[] = [];
    for await (const d of client.paginate('/api/v1/webhooks/{id}/deliveries', {
      params: { path: { id: 'w 1' }, query: { status: 'failed', limit: 2 } },
    }))
      ids.push(d.id);

    expect(ids).toEqual(['d0', 'd1', 'd2']);
    expect(seen.map((s) => Object.fromEntries(s.url.searchParams))).toEqual([
      { status: 'failed', page: '1', limit: '2' },
      { status: 'failed', page: '2', limit: '2' },
    ]);
  });

  it('paginate() takes the same { params: { query } } init as get on routes without path parameters', async () => {
    const { fetch, seen } = stubFetch(() => ({
      body: { items: [message(0)], total: 1, page: 1, limit: 100 },
    }));
    const client = createGatewayClient({ baseUrl: 'http://gw.test', fetch });
    const ids: string[] = [];
    for await (const m of client.paginate('/api/v1/whatsapp/messages', {
      params: { query: { sessionName: 'main' } },
    }))
      ids.push(m.id);
    expect(ids).toEqual(['m0']);
    expect(seen[0].url.pathname).toBe('/api/v1/whatsapp/messages');
    expect(Object.fromEntries(seen[0].url.searchParams)).toEqual({
      sessionName: 'main',
      page: '1',
      limit: '100',
    });
  });

  it('paginate() types: path parameters are required where the route has them; streams are no pages', () => {
    const client = createGatewayClient({
      baseUrl: 'http://gw.test',
      fetch: stubFetch(() => ({})).fetch,
    });
    // Only compiled (tsc): each call below must be a type error.
    const typeErrors = () => [
      // @ts-expect-error the route needs { params: { path: { id } } }
      client.paginate('/api/v1/webhooks/{id}/deliveries'),
      // @ts-expect-error a bare query would leave {id} unfilled
      client.paginate('/api/v1/webhooks/{id}/deliveries', { status: 'failed' }),
      // @ts-expect-error the path parameter is missing
      client.paginate('/api/v1/webhooks/{id}/deliveries', { params: { query: {} } }),
      // @ts-expect-error the route has no path parameters
      client.paginate('/api/v1/whatsapp/messages', { params: { path: { id: 'x' } } }),
      // @ts-expect-error a Server-Sent Events stream, not a JSON page
      client.paginate('/api/v1/events'),
    ];
    expect(typeof typeErrors).toBe('function');
  });

  it("paginate() with a before cursor follows the last item's id instead of sending page numbers", async () => {
    // Newest first, like the server: m9 … m0; a page holds what is older than `before`.
    const all = Array.from({ length: 10 }, (_, i) => message(9 - i));
    const { fetch, seen } = stubFetch(({ url }) => {
      const before = url.searchParams.get('before');
      const page = Number(url.searchParams.get('page') ?? 1);
      const limit = Number(url.searchParams.get('limit'));
      if (before && page > 1)
        return {
          status: 400,
          body: {
            statusCode: 400,
            error: 'Bad Request',
            code: 'MESSAGES_PAGE_WITH_CURSOR',
            message: 'page cannot be combined with before',
            requestId: 'r',
          },
        };
      const older = all.slice(all.findIndex((m) => m.id === before) + 1);
      return { body: { items: older.slice(0, limit), total: older.length, page: 1, limit } };
    });
    const client = createGatewayClient({ baseUrl: 'http://gw.test', fetch });

    const ids: string[] = [];
    for await (const m of client.paginate('/api/v1/whatsapp/messages', {
      sessionName: 'main',
      before: 'm8',
      limit: 3,
    }))
      ids.push(m.id);

    expect(ids).toEqual(['m7', 'm6', 'm5', 'm4', 'm3', 'm2', 'm1', 'm0']);
    expect(seen.map((s) => Object.fromEntries(s.url.searchParams))).toEqual([
      { sessionName: 'main', before: 'm8', limit: '3' },
      { sessionName: 'main', before: 'm5', limit: '3' },
      { sessionName: 'main', before: 'm2', limit: '3' },
    ]);
  });

  it('paginate() with a before cursor stops when a page holds all that is left', async () => {
    const { fetch, seen } = stubFetch(() => ({
      body: { items: [message(1), message(0)], total: 2, page: 1, limit: 100 },
    }));
    const client = createGatewayClient({ baseUrl: 'http://gw.test', fetch });
    const ids: string[] = [];
    for await (const m of client.paginate('/api/v1/whatsapp/messages', {
      params: { query: { before: 'm2' } },
    }))
      ids.push(m.id);
    expect(ids).toEqual(['m1', 'm0']);
    expect(seen).toHaveLength(1);
  });

  it('paginate() rejects with the ApiError of a failing page', async () => {
    const { fetch } = stubFetch(() => ({
      status: 400,
      body: {
        statusCode: 400,
        error: 'Bad Request',
        code: 'VALIDATION_FAILED',
        message: 'Validation failed',
        requestId: 'r',
      },
    }));
    const client = createGatewayClient({ baseUrl: 'http://gw.test', fetch });
    const iterator = client.paginate('/api/v1/customers', { search: 'x' });
    await expect(iterator.next()).rejects.toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
  });
});
