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
  const customer = '+201112223334';

  beforeAll(async () => {
    t = await createTestApp();
    gw = createGatewayClient({ baseUrl: t.url });
  });

  afterAll(async () => {
    await t?.close();
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

    // Delete answers 204 (resolves to undefined); the session is gone.
    await expect(
      gw.delete('/api/v1/whatsapp/sessions/{name}', { params: { path: { name: 'main' } } }),
    ).resolves.toBeUndefined();
    await expect(gw.get('/api/v1/whatsapp/sessions')).resolves.toEqual([]);
  });
});
