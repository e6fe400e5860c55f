import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiError, createGatewayClient, type GatewayClient, type Schemas } from '@app/sdk';
import { createTestApp, uniqueEmail, type TestApp } from './support/test-app';
import { waitFor } from './support/wait';

/**
 * A full integrator scenario driven only through the generated SDK (libs/sdk), so a spec that no
 * longer matches the API breaks this test at compile time (types) or at run time (paths, shapes).
 */
describe('SDK scenario: register → session → scan → send → receive → history → stats (e2e)', () => {
  let t: TestApp;
  let gw: GatewayClient;
  let receiver: Server;
  let receiverUrl: string;
  const customer = '+201112223334';

  beforeAll(async () => {
    // A webhook receiver on loopback, which WEBHOOK_ALLOWED_HOSTS lets the gateway call.
    receiver = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200).end('ok'));
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    t = await createTestApp({ WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' });
    gw = createGatewayClient({ baseUrl: t.url });
  });

  afterAll(async () => {
    await t?.close();
    await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
  });

  it('runs end to end through the SDK', async () => {
    // Register; the token from the answer authenticates the next calls.
    const email = uniqueEmail('sdk');
    const registered = await gw.post('/api/v1/auth/register', {
      body: { organizationName: 'SDK Corp', name: 'Integrator', email, password: 'password-123' },
    });
    expect(registered.tokenType).toBe('Bearer');
    gw.setToken(registered.accessToken);
    const me = await gw.get('/api/v1/auth/me');
    expect(me.user.email).toBe(email);

    // Errors come back as ApiError with the gateway's error shape.
    const unauthenticated = createGatewayClient({ baseUrl: t.url });
    const denied = await unauthenticated.get('/api/v1/whatsapp/sessions').catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(ApiError);
    expect(denied).toMatchObject({ status: 401, requestId: expect.any(String) });

    // Create a sandbox session and wait for its QR.
    const created = await gw.post('/api/v1/whatsapp/sessions', { body: { sessionName: 'main' } });
    expect(created.sessionName).toBe('main');
    const qr = await waitFor(
      () =>
        gw
          .get('/api/v1/whatsapp/sessions/{name}/qr', { params: { path: { name: 'main' } } })
          .catch(() => undefined),
      10_000,
      'a QR code',
    );
    expect(qr.qr).toMatch(/^data:image\/png;base64,/);
    expect(qr.status).toBe('qr_ready');

    const duplicate = (await gw
      .post('/api/v1/whatsapp/sessions', { body: { sessionName: 'main' } })
      .catch((e: unknown) => e)) as ApiError;
    expect(duplicate).toBeInstanceOf(ApiError);
    expect(duplicate.status).toBe(409);
    expect(duplicate.code).toEqual(expect.any(String));

    // The simulated phone scans the QR (sandbox control route).
    const scanned = await gw.post('/api/v1/whatsapp/sandbox/sessions/{name}/scan', {
      params: { path: { name: 'main' } },
      body: { phone: '+201001234567' },
    });
    expect(scanned.sessionName).toBe('main');
    const connected = await waitFor(
      async () => {
        const s = await gw.get('/api/v1/whatsapp/sessions/{name}/status', {
          params: { path: { name: 'main' } },
        });
        return s.status === 'connected' ? s : undefined;
      },
      10_000,
      'connected',
    );
    expect(connected.phone).toBe('201001234567');

    // Send a text: accepted as pending, then sent by the outbox worker.
    const accepted = await gw.post('/api/v1/whatsapp/messages/send', {
      body: { sessionName: 'main', to: customer, text: 'Hello from the SDK' },
    });
    expect(accepted.status).toBe('pending');
    const sent = await waitFor(
      async () => {
        const m = await gw.get('/api/v1/whatsapp/messages/{id}', {
          params: { path: { id: accepted.id } },
        });
        return m.status !== 'pending' ? m : undefined;
      },
      10_000,
      'the message to leave pending',
    );
    expect(sent.status).toBe('sent');

    // The recipient's phone reports it read.
    await gw.post('/api/v1/whatsapp/sandbox/sessions/{name}/receipts', {
      params: { path: { name: 'main' } },
      body: { messageId: accepted.id, status: 'read' },
    });
    await waitFor(
      async () =>
        (await gw.get('/api/v1/whatsapp/messages/{id}', { params: { path: { id: accepted.id } } }))
          .status === 'read',
      10_000,
      'read receipt',
    );

    // Receive: the customer answers (sandbox inbound).
    const inbound = await gw.post('/api/v1/whatsapp/sandbox/sessions/{name}/inbound', {
      params: { path: { name: 'main' } },
      body: { from: customer, pushName: 'Ali', text: 'Thanks, got it!' },
    });
    expect(inbound.waMessageId).toEqual(expect.any(String));

    // History, filtered and paginated; the iterator walks every page.
    const received = await waitFor(
      async () => {
        const page = await gw.get('/api/v1/whatsapp/messages', {
          params: { query: { sessionName: 'main', direction: 'in' } },
        });
        return page.total === 1 ? page : undefined;
      },
      10_000,
      'the inbound message in the history',
    );
    expect(received.items[0]).toMatchObject({
      direction: 'in',
      text: 'Thanks, got it!',
      type: 'text',
    });
    // Mark the chat read: the answer is typed (ChatReadResultDto).
    const read = await gw.post('/api/v1/whatsapp/chats/read', {
      body: { sessionName: 'main', chat: customer },
    });
    expect(read.marked).toBe(1);
    expect(read.chat.unreadCount).toBe(0);
    for (let i = 0; i < 3; i += 1) {
      await gw.post('/api/v1/whatsapp/messages/send', {
        body: { sessionName: 'main', to: customer, text: `Follow-up ${i}` },
      });
    }
    const all: Schemas['MessageResponseDto'][] = [];
    for await (const m of gw.paginate('/api/v1/whatsapp/messages', {
      sessionName: 'main',
      limit: 2,
    }))
      all.push(m);
    expect(all).toHaveLength(5);
    expect(new Set(all.map((m) => m.id)).size).toBe(5);
    expect(all.filter((m) => m.direction === 'out').map((m) => m.text)).toEqual(
      expect.arrayContaining(['Hello from the SDK', 'Follow-up 0', 'Follow-up 2']),
    );
    // With a `before` cursor the iterator follows it (the last item's id), never sending page=2.
    const older: string[] = [];
    for await (const m of gw.paginate('/api/v1/whatsapp/messages', {
      sessionName: 'main',
      before: all[0].id,
      limit: 2,
    }))
      older.push(m.id);
    expect(older).toEqual(all.slice(1).map((m) => m.id));

    // The contact appeared from the conversation.
    const contact = await waitFor(
      async () => {
        for await (const c of gw.paginate('/api/v1/whatsapp/contacts', { sessionName: 'main' }))
          if (c.phone === '201112223334') return c;
        return undefined;
      },
      10_000,
      'the contact',
    );
    const tagged = await gw.put('/api/v1/whatsapp/contacts/{id}', {
      params: { path: { id: contact.id } },
      body: { tags: ['VIP'], notes: 'Asked via SDK' },
    });
    expect(tagged).toMatchObject({ tags: ['vip'], notes: 'Asked via SDK' });

    // Stats count what happened.
    const stats = await waitFor(
      async () => {
        const s = await gw.get('/api/v1/whatsapp/stats', {
          params: { query: { sessionName: 'main' } },
        });
        return s.messages.sent === 4 && s.messages.received === 1 ? s : undefined;
      },
      10_000,
      'stats to count 4 sent and 1 received',
    );
    expect(stats.sessions).toMatchObject({ total: 1, connected: 1 });
    expect(stats.series.reduce((n, p) => n + p.sent + p.received, 0)).toBe(5);
    expect(stats.messages.byStatus.read).toBe(1);
    expect(stats.contacts.total).toBeGreaterThanOrEqual(1);

    // A route with a path parameter pages too: the webhook's deliveries, two per page.
    const hook = await gw.post('/api/v1/webhooks', {
      body: { url: receiverUrl, events: ['message.received'], sessionName: 'main' },
    });
    for (let i = 0; i < 3; i += 1) {
      await gw.post('/api/v1/whatsapp/sandbox/sessions/{name}/inbound', {
        params: { path: { name: 'main' } },
        body: { from: customer, text: `Webhook ${i}` },
      });
    }
    const delivered = await waitFor(
      async () => {
        const page = await gw.get('/api/v1/webhooks/{id}/deliveries', {
          params: { path: { id: hook.id }, query: { status: 'delivered' } },
        });
        return page.total === 3 ? page : undefined;
      },
      10_000,
      '3 delivered webhook calls',
    );
    const walked: string[] = [];
    for await (const d of gw.paginate('/api/v1/webhooks/{id}/deliveries', {
      params: { path: { id: hook.id }, query: { status: 'delivered', limit: 2 } },
    })) {
      expect(d.webhookId).toBe(hook.id);
      walked.push(d.id);
    }
    expect(walked).toEqual(delivered.items.map((d) => d.id));

    // Delete answers 204 (resolves to undefined); the session is gone.
    await expect(
      gw.delete('/api/v1/whatsapp/sessions/{name}', { params: { path: { name: 'main' } } }),
    ).resolves.toBeUndefined();
    await expect(gw.get('/api/v1/whatsapp/sessions')).resolves.toEqual([]);
  });

  it('reads the live events with events(), and resumes after the last one handled', async () => {
    const email = uniqueEmail('sdk-events');
    const registered = await gw.post('/api/v1/auth/register', {
      body: { organizationName: 'SDK Events', name: 'Integrator', email, password: 'password-123' },
    });
    const client = createGatewayClient({ baseUrl: t.url, token: registered.accessToken });
    await client.post('/api/v1/whatsapp/sessions', { body: { sessionName: 'live' } });
    await waitFor(
      () =>
        client
          .get('/api/v1/whatsapp/sessions/{name}/qr', { params: { path: { name: 'live' } } })
          .catch(() => undefined),
      10_000,
      'a QR code',
    );
    await client.post('/api/v1/whatsapp/sandbox/sessions/{name}/scan', {
      params: { path: { name: 'live' } },
      body: { phone: '+201001234568' },
    });
    const inbound = (text: string) =>
      client.post('/api/v1/whatsapp/sandbox/sessions/{name}/inbound', {
        params: { path: { name: 'live' } },
        body: { from: customer, text },
      });

    const stop = new AbortController();
    const stream = client.events({ types: ['message.received'], signal: stop.signal });
    const first = stream.next();
    await new Promise((resolve) => setTimeout(resolve, 200)); // the stream is open
    await inbound('first over SSE');
    const { value } = await first;
    expect(value).toMatchObject({ type: 'message.received', sessionName: 'live' });
    expect((value as { data: { text?: string } }).data.text).toBe('first over SSE');
    stop.abort();
    expect((await stream.next()).done).toBe(true);

    // What happened while no stream was open is replayed after the last id handled.
    await inbound('second, while away');
    const resumed = client.events({ types: ['message.received'], lastEventId: value!.id });
    const next = await resumed.next();
    expect((next.value as { data: { text?: string } }).data.text).toBe('second, while away');
    await resumed.return();

    // A rejected token is an ApiError, not a silent retry loop.
    const anonymous = createGatewayClient({ baseUrl: t.url }).events();
    await expect(anonymous.next()).rejects.toMatchObject({ status: 401 });
  });
});
