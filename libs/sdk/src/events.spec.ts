import { getEventListeners } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http';
import { signWebhookPayload } from '../../../apps/api/src/webhooks/webhook-signature';
import { createGatewayClient, sseFrames, verifyWebhookSignature } from '@app/sdk';

const streamOf = (...chunks: string[]) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk));
      controller.close();
    },
  });

const envelope = (id: string) =>
  JSON.stringify({ id, type: 'message.received', sessionName: 'main', data: { id: `m-${id}` } });

describe('sseFrames', () => {
  it('parses frames split anywhere, with CRLF or LF, comments and multi-line data', async () => {
    const frames = [];
    for await (const frame of sseFrames(
      streamOf(
        'retry: 3000\n: stream open\n\n',
        'id: e1\r\ndata: {"a":',
        '1}\r\n\r\n: heartbeat\n\nid: e2\ndata: line one\ndata: line two\n\n',
        'data: no id\n\n',
      ),
    ))
      frames.push(frame);
    expect(frames).toEqual([
      { retry: 3000 },
      { id: 'e1', data: '{"a":1}' },
      { id: 'e2', data: 'line one\nline two' },
      { data: 'no id' },
    ]);
  });
});

describe('client.events()', () => {
  it('sends the token and filters, reconnects after a drop and resumes after the last event yielded', async () => {
    const requests: Request[] = [];
    const fetch = vi.fn(async (input: string | URL | Request, init?: RequestInit) => {
      const request = new Request(input, init);
      requests.push(request);
      // First connection: two events, then the connection drops; the second: one more.
      const body =
        requests.length === 1
          ? streamOf(
              'retry: 5\n\n',
              `id: e1\ndata: ${envelope('e1')}\n\n`,
              `id: e2\ndata: ${envelope('e2')}\n\n`,
            )
          : streamOf(`id: e3\ndata: ${envelope('e3')}\n\n`);
      return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
    });
    const client = createGatewayClient({
      baseUrl: 'http://gw.test/',
      token: 'tok',
      fetch: fetch as unknown as typeof globalThis.fetch,
    });
    const seen: string[] = [];
    for await (const event of client.events({ types: ['message.received'], sessionName: 'main' })) {
      seen.push(event.id);
      if (seen.length === 3) break;
    }
    expect(seen).toEqual(['e1', 'e2', 'e3']);
    expect(requests).toHaveLength(2);
    const [first, second] = requests;
    expect(first.url).toBe('http://gw.test/api/v1/events?types=message.received&sessionName=main');
    expect(first.headers.get('authorization')).toBe('Bearer tok');
    expect(first.headers.get('accept')).toBe('text/event-stream');
    expect(first.headers.has('last-event-id')).toBe(false);
    expect(second.headers.get('last-event-id')).toBe('e2');
  });

  it('throws an ApiError for an answer other than 200 instead of retrying', async () => {
    const fetch = vi.fn(
      async () =>
        new Response(JSON.stringify({ statusCode: 401, code: 'UNAUTHORIZED', message: 'no' }), {
          status: 401,
          headers: { 'content-type': 'application/json', 'x-request-id': 'r1' },
        }),
    );
    const client = createGatewayClient({
      baseUrl: 'http://gw.test',
      fetch: fetch as unknown as typeof globalThis.fetch,
    });
    await expect(client.events().next()).rejects.toMatchObject({ status: 401, requestId: 'r1' });
    expect(fetch).toHaveBeenCalledOnce();
  });

  describe('while the gateway or its proxy is briefly unavailable', () => {
    beforeEach(() => vi.useFakeTimers());
    afterEach(() => vi.useRealTimers());

    const answers = (...responses: Array<() => Response>) => {
      const requests: Request[] = [];
      const fetch = vi.fn(async (input: string | URL | Request, init?: RequestInit) => {
        requests.push(new Request(input, init));
        return responses[requests.length - 1]();
      });
      return { requests, fetch: fetch as unknown as typeof globalThis.fetch };
    };
    const status =
      (code: number, headers: Record<string, string> = {}) =>
      () =>
        new Response('<html>Bad Gateway</html>', {
          status: code,
          headers: { 'content-type': 'text/html', ...headers },
        });

    it('retries 502, 503 and 429 with backoff, waiting out Retry-After, and resumes', async () => {
      const { requests, fetch } = answers(
        status(502),
        status(429, { 'retry-after': '3' }),
        status(503),
        () => new Response(streamOf(`id: e1\ndata: ${envelope('e1')}\n\n`)),
      );
      const client = createGatewayClient({ baseUrl: 'http://gw.test', fetch });
      const events = client.events({ lastEventId: 'e0', retryDelayMs: 100 });
      const first = events.next();
      await vi.advanceTimersByTimeAsync(0);
      expect(requests).toHaveLength(1); // 502: waits retryDelayMs
      await vi.advanceTimersByTimeAsync(100);
      expect(requests).toHaveLength(2); // 429 with Retry-After: 3 s
      await vi.advanceTimersByTimeAsync(2999);
      expect(requests).toHaveLength(2);
      await vi.advanceTimersByTimeAsync(1);
      expect(requests).toHaveLength(3); // 503: the doubled delay, 400 ms
      await vi.advanceTimersByTimeAsync(399);
      expect(requests).toHaveLength(3);
      await vi.advanceTimersByTimeAsync(1);
      expect((await first).value).toMatchObject({ id: 'e1' });
      expect(requests.map((r) => r.headers.get('last-event-id'))).toEqual(['e0', 'e0', 'e0', 'e0']);
      await events.return();
    });

    it('leaves no listener on the signal after each wait (a long-lived stream reconnects for days)', async () => {
      // Not through Request objects: each would listen to the signal itself.
      const responses = [
        ...Array.from({ length: 12 }, () => status(503)),
        () => new Response(streamOf(`id: e1\ndata: ${envelope('e1')}\n\n`)),
      ];
      const requests: unknown[] = [];
      const fetch = (async (...args: unknown[]) =>
        responses[requests.push(args) - 1]()) as unknown as typeof globalThis.fetch;
      const abort = new AbortController();
      const client = createGatewayClient({ baseUrl: 'http://gw.test', fetch });
      const events = client.events({ signal: abort.signal, retryDelayMs: 10 });
      const first = events.next();
      await vi.advanceTimersByTimeAsync(60_000);
      expect((await first).value).toMatchObject({ id: 'e1' });
      expect(requests).toHaveLength(13);
      // Node warns of a leak past 10 listeners on one signal.
      expect(getEventListeners(abort.signal, 'abort')).toHaveLength(0);
      await events.return();
    });

    it('ends with the ApiError of a 502 when reconnect is off, and of any other 4xx', async () => {
      const off = answers(status(502));
      await expect(
        createGatewayClient({ baseUrl: 'http://gw.test', fetch: off.fetch })
          .events({ reconnect: false })
          .next(),
      ).rejects.toMatchObject({ status: 502 });
      const notFound = answers(status(404));
      await expect(
        createGatewayClient({ baseUrl: 'http://gw.test', fetch: notFound.fetch }).events().next(),
      ).rejects.toMatchObject({ status: 404 });
      expect(notFound.requests).toHaveLength(1);
    });
  });

  it('is not a get route: get() of the stream does not compile', () => {
    const client = createGatewayClient({ baseUrl: 'http://gw.test' });
    // @ts-expect-error the event stream is read with events(), a get would wait for its end
    const typeError = () => client.get('/api/v1/events');
    expect(typeof typeError).toBe('function');
  });
});

describe('verifyWebhookSignature (SDK)', () => {
  const secret = 'whsec_test';
  const body = '{"id":"e1","type":"message.received","data":{"text":"héllo ✓"}}';
  const now = 1_800_000_000;

  it('accepts what the gateway signs, over the raw body as a string or bytes', async () => {
    const signature = signWebhookPayload(secret, now, body);
    const headers = { signature, timestamp: String(now) };
    await expect(verifyWebhookSignature(secret, headers, body, { nowSeconds: now })).resolves.toBe(
      true,
    );
    await expect(
      verifyWebhookSignature(secret, headers, new TextEncoder().encode(body), {
        nowSeconds: now + 60,
      }),
    ).resolves.toBe(true);
  });

  it('refuses another body, secret or timestamp, a stale delivery and malformed headers', async () => {
    const signature = signWebhookPayload(secret, now, body);
    const ok = { signature, timestamp: String(now) };
    const check = (
      headers: { signature?: string; timestamp?: string },
      b = body,
      at = now,
      s = secret,
    ) => verifyWebhookSignature(s, headers, b, { nowSeconds: at });
    await expect(check(ok, `${body} `)).resolves.toBe(false);
    await expect(check(ok, body, now, 'whsec_other')).resolves.toBe(false);
    await expect(check({ ...ok, timestamp: String(now + 1) })).resolves.toBe(false);
    await expect(check(ok, body, now + 301)).resolves.toBe(false);
    await expect(check({ ...ok, signature: signature.replace('sha256=', 'sha1=') })).resolves.toBe(
      false,
    );
    await expect(check({ ...ok, signature: 'sha256=zz' })).resolves.toBe(false);
    await expect(check({ timestamp: String(now) })).resolves.toBe(false);
  });

  it("takes Node's request headers as the README passes them (IncomingHttpHeaders values)", async () => {
    const signature = signWebhookPayload(secret, now, body);
    const headers: IncomingHttpHeaders = {
      'x-webhook-signature': signature,
      'x-webhook-timestamp': String(now),
    };
    const fromNode = (h: IncomingHttpHeaders) =>
      verifyWebhookSignature(
        secret,
        { signature: h['x-webhook-signature'], timestamp: h['x-webhook-timestamp'] },
        Buffer.from(body),
        { nowSeconds: now },
      );
    await expect(fromNode(headers)).resolves.toBe(true);
    // A header given as a list counts only when it holds exactly one value.
    await expect(fromNode({ ...headers, 'x-webhook-signature': [signature] })).resolves.toBe(true);
    await expect(
      fromNode({ ...headers, 'x-webhook-signature': [signature, signature] }),
    ).resolves.toBe(false);
  });
});
