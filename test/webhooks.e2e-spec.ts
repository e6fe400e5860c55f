import { getConnectionToken, getModelToken } from '@nestjs/mongoose';
import { type Connection, type Model, Types } from 'mongoose';
import {
  createServer,
  type IncomingHttpHeaders,
  type RequestListener,
  type Server,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { SEQ_BLOCK } from '../apps/api/src/events/events.repository';
import { EventIdGenerator } from '../apps/api/src/events/event-id';
import { EventOutboxService } from '../apps/api/src/events/event-outbox.service';
import { AllowList, SecretBox } from '@app/common';
import { SessionRegistry } from '@app/whatsapp';
import {
  type Lane,
  WebhookDeliveriesRepository,
} from '../apps/api/src/webhooks/webhook-deliveries.repository';
import { WebhookDirectory } from '../apps/api/src/webhooks/webhook-directory';
import { WebhookDispatcher } from '../apps/api/src/webhooks/webhook-dispatcher';
import { verifyWebhookSignature } from '../apps/api/src/webhooks/webhook-signature';
import { WEBHOOK_OPTIONS, type WebhookOptions } from '../apps/api/src/webhooks/webhooks.options';
import { WebhooksRepository } from '../apps/api/src/webhooks/webhooks.repository';
import { Webhook } from '../apps/api/src/webhooks/schemas/webhook.schema';
import { connectedSession } from './support/sandbox';
import { createTestApp, registerUser, type RegisteredUser, type TestApp } from './support/test-app';
import { withLateFirstInsert } from './support/late-insert';
import { waitFor } from './support/wait';

const ENV = { WEBHOOK_ALLOWED_HOSTS: '127.0.0.1', WEBHOOK_RETRY_BASE_MS: '50' };

interface Hit {
  headers: IncomingHttpHeaders;
  raw: string;
  body: {
    id: string;
    type: string;
    organizationId: string;
    sessionName: string;
    occurredAt: string;
    data: Record<string, any>;
  };
  at: number;
  status: number;
}

/** A local webhook receiver on 127.0.0.1; `respond` picks the status of each request. */
async function startReceiver(
  respond: (hit: Omit<Hit, 'status'>, index: number) => number = () => 200,
) {
  const hits: Hit[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const partial = { headers: req.headers, raw, body: JSON.parse(raw), at: Date.now() };
      const status = receiver.respond(partial, hits.length);
      hits.push({ ...partial, status });
      res.writeHead(status, { 'Content-Type': 'text/plain' }).end(status < 300 ? 'ok' : 'nope');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const receiver = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    hits,
    respond,
    ok: () => hits.filter((h) => h.status < 300),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return receiver;
}

/**
 * A receiver that never answers: each attempt holds its request (and its delivery slot) until the
 * attempt's timeout. Counts the requests it holds; `close` drops them, which fails those attempts.
 */
async function startSilentReceiver() {
  const stats = { received: 0, open: 0, maxOpen: 0 };
  const server: Server = createServer((_req, res) => {
    stats.received++;
    stats.maxOpen = Math.max(stats.maxOpen, ++stats.open);
    res.on('close', () => stats.open--);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/silent`,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('webhooks (HTTP, sandbox engine, local receiver)', () => {
  let t: TestApp;
  let owner: RegisteredUser;
  const receivers: Array<{ close: () => Promise<void> }> = [];

  const api = () => t.http();
  const createHook = async (body: object, who = owner) =>
    (await api().post('/api/v1/webhooks').set(who.auth).send(body).expect(201)).body;
  const inbound = (text: string, session = 'main', from = '+201555000111') =>
    api()
      .post(`/api/v1/whatsapp/sandbox/sessions/${session}/inbound`)
      .set(owner.auth)
      .send({ from, text })
      .expect(202);
  const deliveries = async (hookId: string, query: Record<string, string | number> = {}) =>
    (
      await api()
        .get(`/api/v1/webhooks/${hookId}/deliveries`)
        .query(query)
        .set(owner.auth)
        .expect(200)
    ).body;
  const receiver = async (respond?: Parameters<typeof startReceiver>[0]) => {
    const r = await startReceiver(respond);
    receivers.push(r);
    return r;
  };
  const options = () => t.app.get<symbol, WebhookOptions>(WEBHOOK_OPTIONS);
  /** A receiver of the test's own making at `path`, closed (connections too) after the suite. */
  const customReceiver = async (handler: RequestListener, path: string) => {
    const server: Server = createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    receivers.push({
      close: () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    });
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;
  };
  /** A webhook at `url` for session main's messages, and its delivery of `text` once it failed. */
  const failedAttempt = async (url: string, text: string) => {
    const hook = await createHook({ url, events: ['message.received'], sessionName: 'main' });
    await inbound(text);
    const failed = await waitFor(
      async () => (await deliveries(hook.id, { status: 'failed' })).items[0],
      10_000,
      'the failed delivery',
    );
    return { hook, failed };
  };

  beforeAll(async () => {
    t = await createTestApp(ENV);
    owner = await registerUser(t);
    await connectedSession(t, owner, 'main');
  });
  afterAll(async () => {
    await t?.close();
    await Promise.all(receivers.map((r) => r.close()));
  });

  it('creates, lists, reads, updates, rotates and deletes; the secret is shown only on create and rotate', async () => {
    const created = await createHook({
      url: 'http://127.0.0.1:9/a',
      events: ['message.received', 'message.status'],
      sessionName: 'main',
    });
    expect(created).toMatchObject({
      url: 'http://127.0.0.1:9/a',
      events: ['message.received', 'message.status'],
      sessionName: 'main',
      enabled: true,
    });
    expect(created.secret).toMatch(/^whsec_/);

    const list = (await api().get('/api/v1/webhooks').set(owner.auth).expect(200)).body;
    expect(list.find((h: { id: string }) => h.id === created.id)).toBeDefined();
    expect(JSON.stringify(list)).not.toContain(created.secret);
    const one = (await api().get(`/api/v1/webhooks/${created.id}`).set(owner.auth).expect(200))
      .body;
    expect(one.secret).toBeUndefined();

    const patched = (
      await api()
        .patch(`/api/v1/webhooks/${created.id}`)
        .set(owner.auth)
        .send({ events: ['*'], sessionName: null, enabled: false })
        .expect(200)
    ).body;
    expect(patched).toMatchObject({ events: ['*'], enabled: false });
    expect(patched.sessionName).toBeUndefined();
    // null means all sessions on create too, as on update.
    const allSessions = await createHook({
      url: 'http://127.0.0.1:9/b',
      events: ['*'],
      sessionName: null,
    });
    expect(allSessions.sessionName).toBeUndefined();
    await api().delete(`/api/v1/webhooks/${allSessions.id}`).set(owner.auth).expect(204);
    expect(patched.secret).toBeUndefined();
    const rotated = (
      await api()
        .patch(`/api/v1/webhooks/${created.id}`)
        .set(owner.auth)
        .send({ rotateSecret: true })
        .expect(200)
    ).body;
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(created.secret);
    await api()
      .patch(`/api/v1/webhooks/${created.id}`)
      .set(owner.auth)
      .send({ rotateSecret: false })
      .expect(400);

    await api().delete(`/api/v1/webhooks/${created.id}`).set(owner.auth).expect(204);
    await api().get(`/api/v1/webhooks/${created.id}`).set(owner.auth).expect(404);
  });

  it('sends URL credentials as Basic auth, never shows the password, and keeps it when the masked URL comes back', async () => {
    const r = await receiver();
    const withPassword = r.url.replace('http://', 'http://hooks:s3cret%2Fpw@');
    const basic = (password: string) =>
      `Basic ${Buffer.from(`hooks:${password}`).toString('base64')}`;
    const created = await createHook({ url: withPassword, events: ['message.received'] });
    const masked = r.url.replace('http://', 'http://hooks:****@');
    expect(created.url).toBe(masked);
    const read = (await api().get(`/api/v1/webhooks/${created.id}`).set(owner.auth).expect(200))
      .body;
    expect(read.url).toBe(masked);
    const list = (await api().get('/api/v1/webhooks').set(owner.auth).expect(200)).body;
    expect(JSON.stringify(list)).not.toContain('s3cret');

    const deliveredWith = async (text: string) => {
      await inbound(text, 'main');
      await waitFor(
        async () => r.hits.some((h) => h.body.data.text === text),
        10_000,
        `delivery of ${text}`,
      );
      return r.hits.find((h) => h.body.data.text === text)!.headers.authorization;
    };
    expect(await deliveredWith('basic auth 1')).toBe(basic('s3cret/pw'));

    // The URL as read, sent back with another change: the stored password stays.
    const patched = (
      await api()
        .patch(`/api/v1/webhooks/${created.id}`)
        .set(owner.auth)
        .send({ url: masked, events: ['message.received', 'message.status'] })
        .expect(200)
    ).body;
    expect(patched.url).toBe(masked);
    expect(await deliveredWith('basic auth 2')).toBe(basic('s3cret/pw'));

    // Never carried to another receiver: the masked password is refused on another host or port.
    const elsewhere = await api()
      .patch(`/api/v1/webhooks/${created.id}`)
      .set(owner.auth)
      .send({ url: 'http://hooks:****@127.0.0.1:9/hook' })
      .expect(400);
    expect(elsewhere.body.code).toBe('WEBHOOK_URL_NOT_ALLOWED');
    // A new password replaces it.
    await api()
      .patch(`/api/v1/webhooks/${created.id}`)
      .set(owner.auth)
      .send({ url: r.url.replace('http://', 'http://hooks:other@') })
      .expect(200);
    expect(await deliveredWith('basic auth 3')).toBe(basic('other'));
    await api().delete(`/api/v1/webhooks/${created.id}`).set(owner.auth).expect(204);
  });

  it('keeps "no password" when a masked URL comes back for a receiver stored without one', async () => {
    const r = await receiver();
    const userOnly = r.url.replace('http://', 'http://hooks@');
    const created = await createHook({ url: userOnly, events: ['message.received'] });
    expect(created.url).toBe(userOnly);
    const patched = (
      await api()
        .patch(`/api/v1/webhooks/${created.id}`)
        .set(owner.auth)
        .send({ url: r.url.replace('http://', 'http://hooks:****@') })
        .expect(200)
    ).body;
    expect(patched.url).toBe(userOnly);
    await inbound('no password kept', 'main');
    await waitFor(
      async () => r.hits.some((h) => h.body.data.text === 'no password kept'),
      10_000,
      'delivery without a password',
    );
    expect(r.hits.at(-1)!.headers.authorization).toBe(
      `Basic ${Buffer.from('hooks:').toString('base64')}`,
    );
    await api().delete(`/api/v1/webhooks/${created.id}`).set(owner.auth).expect(204);
  });

  it('stores signing secrets encrypted; deliveries sign with the secret shown once, also for rows stored before encryption', async () => {
    const db = t.app.get<string, Connection>(getConnectionToken());
    const stored = async (id: string) =>
      (await db.collection('webhooks').findOne({ _id: new Types.ObjectId(id) }))!.secret as string;
    /** Writes the stored secret behind the API's back (and drops the directory's cached copy). */
    const storeSecret = async (id: string, secret: string) => {
      await db
        .collection('webhooks')
        .updateOne({ _id: new Types.ObjectId(id) }, { $set: { secret } });
      t.app.get(WebhookDirectory).invalidate(owner.user.organizationId);
    };
    const r = await receiver();
    const hook = await createHook({ url: r.url, events: ['message.received'] });
    const sealed = await stored(hook.id);
    expect(sealed).toMatch(/^enc:v1:/);
    expect(sealed).not.toContain(hook.secret.slice(6));

    const signedWith = async (secret: string, text: string) => {
      await inbound(text);
      const hit = await waitFor(
        async () => r.hits.find((h) => h.body.data.text === text),
        10_000,
        `the delivery of "${text}"`,
      );
      return verifyWebhookSignature(
        secret,
        {
          signature: hit.headers['x-webhook-signature'] as string,
          timestamp: hit.headers['x-webhook-timestamp'] as string,
        },
        hit.raw,
      );
    };
    expect(await signedWith(hook.secret, 'sealed secret')).toBe(true);

    // A row written before secrets were encrypted still signs with its plain secret.
    const legacy = 'whsec_legacyplaintextsecret0123456789abcdef';
    await storeSecret(hook.id, legacy);
    expect(await signedWith(legacy, 'legacy secret')).toBe(true);

    // A secret sealed under another key cannot sign: the attempt fails with the reason.
    await storeSecret(
      hook.id,
      new SecretBox('another-key'.repeat(4), 'webhook-secrets').seal('whsec_x'),
    );
    await inbound('unreadable secret');
    const failed = await waitFor(
      async () =>
        (await deliveries(hook.id)).items.find((d: { lastError?: string }) =>
          d.lastError?.includes('cannot be decrypted'),
        ),
      10_000,
      'a failed attempt naming the unreadable secret',
    );
    expect(failed.lastError).toMatch(/rotate the webhook secret/);
    await api().delete(`/api/v1/webhooks/${hook.id}`).set(owner.auth).expect(204);
  });

  it('holds the limit of 25 webhooks per organization when they are created all at once', async () => {
    const org = await registerUser(t);
    const create = () =>
      api()
        .post('/api/v1/webhooks')
        .set(org.auth)
        .send({ url: 'http://127.0.0.1:9/x', events: ['*'] });
    // One create's insert lands only after its 29 rivals were answered, its id (and whatever it
    // read before the insert) older than theirs: counting first and ranking after let it in as
    // the 26th.
    const burst = await withLateFirstInsert(
      t.app.get<Model<Webhook>>(getModelToken(Webhook.name)),
      create,
      () => Array.from({ length: 29 }, create),
    );
    const statuses = burst.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(25);
    expect(statuses.filter((s) => s === 422)).toHaveLength(5);
    for (const refused of burst.filter((r) => r.status === 422))
      expect(refused.body.code).toBe('WEBHOOK_LIMIT_REACHED');
    const listed = await api().get('/api/v1/webhooks').set(org.auth).expect(200);
    expect(listed.body).toHaveLength(25);
  });

  it('refuses bad URLs and event names with 400', async () => {
    for (const url of [
      'ftp://127.0.0.1/hook',
      'not-a-url',
      'http://10.0.0.1/hook',
      'http://localhost:3000/hook',
      'http://169.254.169.254/latest',
      'http://[::1]:80/x',
      'http://192.168.1.1/',
    ]) {
      const res = await api()
        .post('/api/v1/webhooks')
        .set(owner.auth)
        .send({ url, events: ['*'] });
      expect({ url, status: res.status }).toEqual({ url, status: 400 });
      expect(res.body).toMatchObject({ statusCode: 400, requestId: expect.any(String) });
    }
    const ssrf = await api()
      .post('/api/v1/webhooks')
      .set(owner.auth)
      .send({ url: 'http://10.0.0.1/hook', events: ['*'] })
      .expect(400);
    expect(ssrf.body.code).toBe('WEBHOOK_URL_NOT_ALLOWED');
    expect(ssrf.body.message).toContain('10.0.0.1 is a private');
    expect(ssrf.body.message).toContain('WEBHOOK_ALLOWED_HOSTS');
    const local = await api()
      .post('/api/v1/webhooks')
      .set(owner.auth)
      .send({ url: 'http://localhost:3000/hook', events: ['*'] })
      .expect(400);
    expect(local.body.code).toBe('WEBHOOK_URL_NOT_ALLOWED');
    await api()
      .post('/api/v1/webhooks')
      .set(owner.auth)
      .send({ url: 'http://127.0.0.1:9/x', events: ['message.nope'] })
      .expect(400);
    await api()
      .post('/api/v1/webhooks')
      .set(owner.auth)
      .send({ url: 'http://127.0.0.1:9/x', events: [] })
      .expect(400);
    await api()
      .post('/api/v1/webhooks')
      .set(owner.auth)
      .send({ url: 'http://127.0.0.1:9/x', events: ['*'], secret: 'mine' })
      .expect(400);
    // A public address needs no allow-list entry (never called here: the webhook is disabled at once).
    const publicHook = await createHook({
      url: 'https://93.184.216.34/hook',
      events: ['*'],
      enabled: false,
    });
    await api()
      .patch(`/api/v1/webhooks/${publicHook.id}`)
      .set(owner.auth)
      .send({ url: 'http://172.16.0.1/' })
      .expect(400);
    await api().delete(`/api/v1/webhooks/${publicHook.id}`).set(owner.auth).expect(204);
  });

  it("hides another organization's webhooks (404) and needs owner or admin", async () => {
    const hook = await createHook({
      url: 'http://127.0.0.1:9/other',
      events: ['*'],
      enabled: false,
    });
    const stranger = await registerUser(t, { organizationName: 'Other' });
    await api().get(`/api/v1/webhooks/${hook.id}`).set(stranger.auth).expect(404);
    await api()
      .patch(`/api/v1/webhooks/${hook.id}`)
      .set(stranger.auth)
      .send({ enabled: true })
      .expect(404);
    await api().get(`/api/v1/webhooks/${hook.id}/deliveries`).set(stranger.auth).expect(404);
    await api().delete(`/api/v1/webhooks/${hook.id}`).set(stranger.auth).expect(404);
    expect((await api().get('/api/v1/webhooks').set(stranger.auth).expect(200)).body).toEqual([]);
    await api().get('/api/v1/webhooks/not-an-id').set(owner.auth).expect(404);

    const member = {
      name: 'Member',
      email: `member.${Date.now()}@example.test`,
      password: 'password-123',
      role: 'member',
    };
    await api().post('/api/v1/organizations/me/users').set(owner.auth).send(member).expect(201);
    const login = await api()
      .post('/api/v1/auth/login')
      .send({ email: member.email, password: member.password })
      .expect(200);
    await api()
      .get('/api/v1/webhooks')
      .set({ Authorization: `Bearer ${login.body.accessToken}` })
      .expect(403);
    await api().get('/api/v1/webhooks').expect(401);
    await api().delete(`/api/v1/webhooks/${hook.id}`).set(owner.auth).expect(204);
  });

  it('delivers every event type with a valid signature', async () => {
    const r = await receiver();
    const hook = await createHook({ url: r.url, events: ['*'] });
    const verify = (hit: Hit) =>
      verifyWebhookSignature(
        hook.secret,
        {
          signature: hit.headers['x-webhook-signature'] as string,
          timestamp: hit.headers['x-webhook-timestamp'] as string,
        },
        hit.raw,
      );

    // session.status + session.qr, then session.status connected
    await connectedSession(t, owner, 'typed', '+201001234599');
    // message.received
    await inbound('hello webhooks', 'typed');
    // message.sent, then message.status (delivered)
    const sent = (
      await api()
        .post('/api/v1/whatsapp/messages/send')
        .set(owner.auth)
        .send({ sessionName: 'typed', to: '+201112223334', text: 'out' })
        .expect(202)
    ).body;
    await waitFor(
      async () => r.hits.some((h) => h.body.type === 'message.sent' && h.body.data.id === sent.id),
      10_000,
      'message.sent',
    );
    await api()
      .post('/api/v1/whatsapp/sandbox/sessions/typed/receipts')
      .set(owner.auth)
      .send({ messageId: sent.id, status: 'delivered' })
      .expect(202);
    // contact.updated: a user edit of the contact the inbound message created
    const contact = await waitFor(
      async () => {
        const list = (
          await api()
            .get('/api/v1/whatsapp/contacts')
            .query({ sessionName: 'typed' })
            .set(owner.auth)
            .expect(200)
        ).body;
        return list.items.find((c: { jid: string }) => c.jid === '201112223334@s.whatsapp.net');
      },
      10_000,
      'the contact',
    );
    await api()
      .put(`/api/v1/whatsapp/contacts/${contact.id}`)
      .set(owner.auth)
      .send({ tags: ['VIP'] })
      .expect(200);

    const types = [
      'session.status',
      'session.qr',
      'message.received',
      'message.sent',
      'message.status',
      'contact.updated',
    ];
    await waitFor(
      async () =>
        types.every((type) =>
          r.hits.some((h) => h.body.type === type && h.body.sessionName === 'typed'),
        ),
      15_000,
      'every event type',
    );
    for (const hit of r.hits) {
      expect(verify(hit)).toBe(true);
      expect(hit.headers['x-webhook-id']).toBe(hit.body.id);
      expect(hit.headers['x-webhook-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
      expect(hit.headers['content-type']).toBe('application/json');
      expect(hit.body).toMatchObject({
        id: expect.stringMatching(/^[0-9a-f]{24}$/),
        organizationId: owner.organization.id,
        occurredAt: expect.any(String),
      });
    }
    const byType = (type: string) =>
      r.hits.find((h) => h.body.type === type && h.body.sessionName === 'typed')!.body;
    expect(byType('message.received').data).toMatchObject({
      text: 'hello webhooks',
      direction: 'in',
      sessionName: 'typed',
      status: 'delivered',
    });
    expect(byType('message.sent').data).toMatchObject({
      id: sent.id,
      status: 'sent',
      direction: 'out',
    });
    expect(byType('message.status').data).toMatchObject({ id: sent.id, status: 'delivered' });
    expect(byType('session.qr').data.qr).toMatch(/^data:image\/png;base64,/);
    expect(
      r.hits.some(
        (h) =>
          h.body.type === 'session.status' &&
          h.body.data.status === 'connected' &&
          h.body.data.phone === '201001234599',
      ),
    ).toBe(true);
    const contactEvents = await waitFor(
      async () => {
        const found = r.hits.filter(
          (h) => h.body.type === 'contact.updated' && h.body.data.tags?.includes('vip'),
        );
        return found.length ? found : undefined;
      },
      10_000,
      'contact.updated after the edit',
    );
    expect(contactEvents[0].body.data).toMatchObject({
      id: contact.id,
      jid: '201112223334@s.whatsapp.net',
      tags: ['vip'],
      sessionName: 'typed',
    });
    // The REST DTO, not the stored document.
    expect(byType('message.received').data).not.toHaveProperty('_id');
    expect(byType('message.received').data).not.toHaveProperty('organizationId');
    expect(new Set(r.hits.map((h) => h.body.id)).size).toBe(r.hits.length);

    const page = await deliveries(hook.id, { limit: 100 });
    expect(page.total).toBe(r.hits.length);
    expect(page.items[0]).toMatchObject({
      status: 'delivered',
      attempts: 1,
      lastResponseCode: 200,
      webhookId: hook.id,
    });
    // The other documented headers: the event type, the delivery (as listed) and the attempt.
    for (const hit of r.hits) {
      const delivery = page.items.find((d: { eventId: string }) => d.eventId === hit.body.id);
      expect(hit.headers).toMatchObject({
        'x-webhook-event': hit.body.type,
        'x-webhook-delivery': delivery.id,
        'x-webhook-attempt': '1',
      });
    }
    await api().delete(`/api/v1/webhooks/${hook.id}`).set(owner.auth).expect(204);
  });

  it('delivers session.deleted to a webhook that asks for it, once per delete', async () => {
    const r = await receiver();
    const hook = await createHook({ url: r.url, events: ['session.deleted'] });
    await connectedSession(t, owner, 'removed', '+201001234588');
    await api().delete('/api/v1/whatsapp/sessions/removed').set(owner.auth).expect(204);
    const hit = await waitFor(
      async () => r.hits.find((h) => h.body.sessionName === 'removed'),
      10_000,
      'session.deleted',
    );
    expect(hit.headers['x-webhook-event']).toBe('session.deleted');
    expect(hit.body).toMatchObject({
      type: 'session.deleted',
      data: { sessionName: 'removed', phone: '201001234588', deletedAt: hit.body.occurredAt },
    });
    // Only what it asked for: the session's statuses and QR went to nobody here.
    expect(r.hits.every((h) => h.body.type === 'session.deleted')).toBe(true);
    const page = await deliveries(hook.id, { limit: 100 });
    expect(page.total).toBe(1);
    await api().delete(`/api/v1/webhooks/${hook.id}`).set(owner.auth).expect(204);
  });

  it('retries a failing receiver with increasing delays and delivers exactly once more after it recovers', async () => {
    const r = await receiver((_hit, index) => (index < 3 ? 500 : 200));
    const hook = await createHook({
      url: r.url,
      events: ['message.received'],
      sessionName: 'main',
    });
    await inbound('retry me');
    await waitFor(async () => r.ok().length === 1, 10_000, 'the successful attempt');
    await new Promise((res) => setTimeout(res, 600)); // nothing more may arrive
    expect(r.hits.map((h) => h.status)).toEqual([500, 500, 500, 200]);
    expect(new Set(r.hits.map((h) => h.headers['x-webhook-id'])).size).toBe(1);
    expect(r.hits.map((h) => h.headers['x-webhook-attempt'])).toEqual(['1', '2', '3', '4']);
    const gaps = r.hits.slice(1).map((h, i) => h.at - r.hits[i].at);
    // Each gap is at least its growing delay (50 ms base doubling, -20 % jitter, 5 ms timer
    // slack); a loaded machine can only lengthen a gap, so no gap is compared with the next.
    expect(gaps[0]).toBeGreaterThanOrEqual(35);
    expect(gaps[1]).toBeGreaterThanOrEqual(75);
    expect(gaps[2]).toBeGreaterThanOrEqual(155);

    const [delivery] = (await deliveries(hook.id)).items;
    expect(delivery).toMatchObject({
      status: 'delivered',
      attempts: 4,
      lastResponseCode: 200,
      eventType: 'message.received',
      eventId: r.hits[0].body.id,
    });
    expect(delivery.nextAttemptAt).toBeUndefined();
    const shown = (await api().get(`/api/v1/webhooks/${hook.id}`).set(owner.auth).expect(200)).body;
    expect(shown.failingSince).toBeUndefined();
    await api().delete(`/api/v1/webhooks/${hook.id}`).set(owner.auth).expect(204);
  });

  it('counts a 2xx status as delivered even when the response body never ends, and sends the event once', async () => {
    // A receiver that accepts the event (200) but never finishes its response body.
    const hits: string[] = [];
    const url = await customReceiver((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        hits.push(JSON.parse(Buffer.concat(chunks).toString('utf8')).id);
        res.writeHead(200, { 'Content-Type': 'text/plain' }).write('accepted, still writing');
      });
    }, '/trickle');
    const saved = options().timeoutMs;
    options().timeoutMs = 300;
    try {
      const hook = await createHook({
        url,
        events: ['message.received'],
        sessionName: 'main',
      });
      await inbound('answered 200, body left open');
      const [delivery] = await waitFor(
        async () => {
          const { items } = await deliveries(hook.id);
          return items.length && items[0].attempts >= 1 && items[0].status !== 'delivering'
            ? items
            : undefined;
        },
        10_000,
        'the first attempt recorded',
      );
      await new Promise((res) => setTimeout(res, 600)); // two timeouts: no second attempt
      expect(delivery).toMatchObject({ status: 'delivered', attempts: 1, lastResponseCode: 200 });
      expect(hits).toHaveLength(1);
      await api().delete(`/api/v1/webhooks/${hook.id}`).set(owner.auth).expect(204);
    } finally {
      options().timeoutMs = saved;
    }
  });

  it('records the status and the start of an error body that never ends, not a timeout', async () => {
    // A receiver whose error page streams on and on.
    const url = await customReceiver((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(500, { 'Content-Type': 'text/plain' });
        const chunk = 'upstream exploded; '.repeat(100);
        const timer = setInterval(() => res.write(chunk), 20);
        res.on('close', () => clearInterval(timer));
      });
    }, '/error-page');
    const saved = { ...options() };
    // One attempt, answered long before its timeout.
    Object.assign(options(), { timeoutMs: 5_000, retryWindowMs: 1 });
    try {
      const { hook, failed } = await failedAttempt(url, 'a 500 with an endless body');
      expect(failed).toMatchObject({ attempts: 1, lastResponseCode: 500 });
      expect(failed.lastError).toMatch(/^HTTP 500: upstream exploded; /);
      expect(failed.lastDurationMs).toBeLessThan(options().timeoutMs);
      await api().delete(`/api/v1/webhooks/${hook.id}`).set(owner.auth).expect(204);
    } finally {
      Object.assign(options(), saved);
    }
  });

  it('does not follow a redirect, and names where it pointed in the failed attempt', async () => {
    const target = await receiver();
    const redirects: string[] = [];
    const url = await customReceiver((req, res) => {
      req.resume();
      req.on('end', () => {
        redirects.push(String(req.headers['x-webhook-id']));
        res.writeHead(308, { Location: target.url }).end();
      });
    }, '/moved');
    const hook = await createHook({
      url,
      events: ['message.received'],
      sessionName: 'main',
    });
    await inbound('redirected');
    const attempted = await waitFor(
      async () => (await deliveries(hook.id)).items.find((d: { attempts: number }) => d.attempts),
      10_000,
      'the first attempt',
    );
    expect(attempted).toMatchObject({ lastResponseCode: 308 }); // and retried meanwhile
    expect(attempted.lastError).toBe(
      `HTTP 308: redirects are not followed; the receiver pointed to ${target.url}`,
    );
    expect(target.hits).toHaveLength(0);
    await api().delete(`/api/v1/webhooks/${hook.id}`).set(owner.auth).expect(204);
  });

  it('records the status of an error answer whose body stalls, not a bare timeout', async () => {
    // A receiver that answers 503 with the start of a page, then hangs.
    const url = await customReceiver((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(503, { 'Content-Type': 'text/plain' });
        res.write('maintenance');
      });
    }, '/stalled');
    const saved = { ...options() };
    Object.assign(options(), { timeoutMs: 1_000, retryWindowMs: 1 });
    try {
      const { hook, failed } = await failedAttempt(url, 'a 503 whose body stalls');
      expect(failed).toMatchObject({ attempts: 1, lastResponseCode: 503 });
      expect(failed.lastError).toBe('HTTP 503: maintenance (Timed out after 1 s)');
      await api().delete(`/api/v1/webhooks/${hook.id}`).set(owner.auth).expect(204);
    } finally {
      Object.assign(options(), saved);
    }
  });

  it('keeps per-session order under retries while other sessions go on', async () => {
    await connectedSession(t, owner, 'second', '+201001234588');
    let failuresLeft = 3;
    const r = await receiver((hit) =>
      hit.body.sessionName === 'main' && failuresLeft-- > 0 ? 503 : 200,
    );
    const hook = await createHook({ url: r.url, events: ['message.received'] });
    for (let i = 1; i <= 5; i++) await inbound(`ordered ${i}`, 'main', '+201555000999');
    await inbound('other session', 'second', '+201555000999');

    await waitFor(
      async () => r.ok().filter((h) => h.body.sessionName === 'main').length === 5,
      15_000,
      '5 main deliveries',
    );
    const main = r.hits.filter((h) => h.body.sessionName === 'main');
    // Every attempt (failed or not) is for an event at or after the previous one: N+1 never overtakes N.
    const attemptedIds = main.map((h) => h.body.id);
    expect([...attemptedIds].sort()).toEqual(attemptedIds);
    const deliveredIds = main.filter((h) => h.status < 300).map((h) => h.body.id);
    expect(new Set(deliveredIds).size).toBe(5);
    expect([...deliveredIds].sort()).toEqual(deliveredIds);
    expect(main.filter((h) => h.status >= 300)).toHaveLength(3);
    // The other session's lane was not held up by main's retries.
    const second = r.hits.find((h) => h.body.sessionName === 'second')!;
    const firstMainSuccess = main.find((h) => h.status < 300)!;
    expect(second.status).toBe(200);
    expect(second.at).toBeLessThanOrEqual(firstMainSuccess.at);
    await api().delete(`/api/v1/webhooks/${hook.id}`).set(owner.auth).expect(204);
  });

  it('gives up after the retry window, disables a webhook failing for too long, and retries on request', async () => {
    let up = false;
    const r = await receiver(() => (up ? 200 : 500));
    const hook = await createHook({
      url: r.url,
      events: ['message.received'],
      sessionName: 'main',
    });
    const saved = { ...options() };
    // Wide enough for a retry (50 ms base) on a loaded machine, where the first attempt alone can
    // come 250 ms after the event.
    Object.assign(options(), { retryWindowMs: 1_000, disableAfterMs: 60_000 });
    try {
      await inbound('window');
      const failed = await waitFor(
        async () => (await deliveries(hook.id, { status: 'failed' })).items[0],
        10_000,
        'a failed delivery',
      );
      expect(failed.attempts).toBeGreaterThanOrEqual(2);
      expect(failed).toMatchObject({
        lastResponseCode: 500,
        lastError: expect.stringContaining('HTTP 500'),
      });
      const failing = (await api().get(`/api/v1/webhooks/${hook.id}`).set(owner.auth).expect(200))
        .body;
      expect(failing).toMatchObject({
        enabled: true,
        failingSince: expect.any(String),
        lastError: expect.stringContaining('HTTP 500'),
      });

      Object.assign(options(), { retryWindowMs: 60_000, disableAfterMs: 300 });
      await inbound('disable');
      const disabled = await waitFor(
        async () => {
          const body = (await api().get(`/api/v1/webhooks/${hook.id}`).set(owner.auth).expect(200))
            .body;
          return body.enabled === false ? body : undefined;
        },
        10_000,
        'auto-disable',
      );
      expect(disabled.disabledReason).toMatch(/Disabled automatically/);
      expect((await deliveries(hook.id, { status: 'pending' })).total).toBe(0);
      const attemptsWhenDisabled = r.hits.length;
      await inbound('while disabled');
      await new Promise((res) => setTimeout(res, 300));
      expect(r.hits.length).toBe(attemptsWhenDisabled);

      const retry = (await deliveries(hook.id, { status: 'failed' })).items.at(-1);
      const conflict = await api()
        .post(`/api/v1/webhooks/${hook.id}/deliveries/${retry.id}/retry`)
        .set(owner.auth)
        .expect(409);
      expect(conflict.body.code).toBe('WEBHOOK_DISABLED');
      up = true;
      const enabled = (
        await api()
          .patch(`/api/v1/webhooks/${hook.id}`)
          .set(owner.auth)
          .send({ enabled: true })
          .expect(200)
      ).body;
      expect(enabled.disabledReason).toBeUndefined();
      expect(enabled.failingSince).toBeUndefined();
      const queued = (
        await api()
          .post(`/api/v1/webhooks/${hook.id}/deliveries/${retry.id}/retry`)
          .set(owner.auth)
          .expect(202)
      ).body;
      expect(queued).toMatchObject({ id: retry.id, status: 'pending', attempts: 0 });
      await waitFor(
        async () => r.ok().some((h) => h.body.id === retry.eventId),
        10_000,
        'manual retry delivered',
      );
      await api()
        .post(`/api/v1/webhooks/${hook.id}/deliveries/000000000000000000000000/retry`)
        .set(owner.auth)
        .expect(404);
    } finally {
      Object.assign(options(), saved);
    }
    await api().delete(`/api/v1/webhooks/${hook.id}`).set(owner.auth).expect(204);
  });

  it('answers a retry of a delivery being attempted with 409 DELIVERY_IN_FLIGHT and a Retry-After of the time its attempt may still take', async () => {
    const saved = { ...options() };
    options().timeoutMs = 4_000;
    const silent = await startSilentReceiver();
    receivers.push(silent);
    const hook = await createHook({
      url: silent.url,
      events: ['message.received'],
      sessionName: 'main',
    });
    try {
      await inbound('held by the receiver');
      const delivering = await waitFor(
        async () => (await deliveries(hook.id, { status: 'delivering' })).items[0],
        10_000,
        'the delivery in flight',
      );
      const conflict = await api()
        .post(`/api/v1/webhooks/${hook.id}/deliveries/${delivering.id}/retry`)
        .set(owner.auth)
        .expect(409);
      expect(conflict.body.code).toBe('DELIVERY_IN_FLIGHT');
      const retryAfter = Number(conflict.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(4);
    } finally {
      await api().delete(`/api/v1/webhooks/${hook.id}`).set(owner.auth).expect(204);
      await silent.close();
      Object.assign(options(), saved);
    }
  });

  it('answers 410 DELIVERY_EVENT_EXPIRED to a retry whose event is no longer stored, and leaves the delivery as it was', async () => {
    const r = await receiver();
    const hook = await createHook({
      url: r.url,
      events: ['message.received'],
      sessionName: 'main',
    });
    await inbound('expired before its delivery');
    const delivered = await waitFor(
      async () => (await deliveries(hook.id, { status: 'delivered' })).items[0],
      10_000,
      'the delivery',
    );
    // The event's retention ran out before the delivery's (an event fanned out late).
    const db = t.app.get<string, Connection>(getConnectionToken());
    await db.collection('events').deleteOne({ _id: new Types.ObjectId(delivered.eventId) });
    const gone = await api()
      .post(`/api/v1/webhooks/${hook.id}/deliveries/${delivered.id}/retry`)
      .set(owner.auth)
      .expect(410);
    expect(gone.body).toMatchObject({
      code: 'DELIVERY_EVENT_EXPIRED',
      details: { eventId: delivered.eventId },
    });
    expect((await deliveries(hook.id)).items[0]).toMatchObject({
      id: delivered.id,
      status: 'delivered',
    });
    await api().delete(`/api/v1/webhooks/${hook.id}`).set(owner.auth).expect(204);
  });

  it('deletes, not fails, the deliveries a fan-out created for a webhook deleted meanwhile', async () => {
    const r = await receiver();
    const hook = await createHook({
      url: r.url,
      events: ['message.received'],
      sessionName: 'main',
    });
    const repository = t.app.get(WebhookDeliveriesRepository);
    const insertMany = repository.insertMany.bind(repository);
    let inserted: Promise<void> | undefined;
    // The DELETE lands between the fan-out's read of the webhooks and its insert of their rows.
    const spy = vi.spyOn(repository, 'insertMany').mockImplementationOnce((rows, now) => {
      inserted = (async () => {
        await api().delete(`/api/v1/webhooks/${hook.id}`).set(owner.auth).expect(204);
        await insertMany(rows, now);
      })();
      return inserted;
    });
    await inbound('fanned out to a deleted webhook');
    await waitFor(async () => inserted !== undefined, 10_000, 'the fan-out');
    await inserted;
    spy.mockRestore();
    const db = t.app.get<string, Connection>(getConnectionToken());
    const rows = db.collection('webhook_deliveries');
    const webhookId = new Types.ObjectId(hook.id);
    // Settled: nothing of the deleted webhook is left waiting (the lane was kicked at insert).
    await waitFor(
      async () => (await rows.countDocuments({ webhookId, status: 'pending' })) === 0,
      10_000,
      'the rows of the deleted webhook to be handled',
    );
    expect(await rows.countDocuments({ webhookId })).toBe(0);
    expect(r.hits).toHaveLength(0);
  });

  it("delivers for a webhook another instance just enabled, although this instance's cached copy still says disabled", async () => {
    const r = await receiver();
    const hook = await createHook({
      url: r.url,
      events: ['message.received'],
      sessionName: 'main',
      enabled: false,
    });
    await inbound('fanned out by another instance');
    const db = t.app.get<string, Connection>(getConnectionToken());
    const event = await waitFor(
      () => db.collection('events').findOne({ 'data.text': 'fanned out by another instance' }),
      10_000,
      'the stored event',
    );
    // This instance reads the webhook (disabled) into its directory; then another instance
    // enables it (PATCH there) and fans the event out to it, as its own cache was fresh.
    const directory = t.app.get(WebhookDirectory);
    directory.invalidate(owner.organization.id);
    expect((await directory.get(owner.organization.id, hook.id))?.enabled).toBe(false);
    await db
      .collection('webhooks')
      .updateOne({ _id: new Types.ObjectId(hook.id) }, { $set: { enabled: true } });
    const now = new Date();
    await db.collection('webhook_deliveries').insertOne({
      organizationId: owner.organization.id,
      webhookId: new Types.ObjectId(hook.id),
      eventId: event._id,
      eventType: 'message.received',
      sessionName: 'main',
      status: 'pending',
      attempts: 0,
      nextAttemptAt: now,
      windowStart: now,
      createdAt: now,
      updatedAt: now,
    });
    await t.app.get(WebhookDispatcher).poll(); // this instance's poll finds the due delivery first

    const [delivery] = await waitFor(
      async () => {
        const { items } = await deliveries(hook.id);
        return ['delivered', 'failed'].includes(items[0]?.status) ? items : undefined;
      },
      10_000,
      'the delivery attempted or given up',
    );
    expect(delivery).toMatchObject({ status: 'delivered', attempts: 1 });
    expect(r.ok().map((h) => h.body.id)).toEqual([String(event._id)]);
    await api().delete(`/api/v1/webhooks/${hook.id}`).set(owner.auth).expect(204);
  });

  it('delivers the events stored after a webhook was created, whatever the clock of the instance that created it said', async () => {
    const r = await receiver();
    const hook = await createHook({
      url: r.url,
      events: ['message.received'],
      sessionName: 'main',
    });
    // Created on an instance whose clock runs a minute ahead of this one's.
    const db = t.app.get<string, Connection>(getConnectionToken());
    await db
      .collection('webhooks')
      .updateOne(
        { _id: new Types.ObjectId(hook.id) },
        { $set: { createdAt: new Date(Date.now() + 60_000) } },
      );
    await api().patch(`/api/v1/webhooks/${hook.id}`).set(owner.auth).send({ enabled: true });
    await inbound('after a webhook from a clock ahead');
    const [hit] = await waitFor(
      async () => (r.ok().length ? r.ok() : undefined),
      10_000,
      'the event delivered',
    );
    expect(hit.body.data.text).toBe('after a webhook from a clock ahead');
    await api().delete(`/api/v1/webhooks/${hook.id}`).set(owner.auth).expect(204);
  });

  it("reads an organization's webhooks for an event batch only when a webhook was written since", async () => {
    const tenant = await registerUser(t);
    const org = tenant.organization.id;
    const db = t.app.get<string, Connection>(getConnectionToken());
    const reads = vi.spyOn(t.app.get(WebhooksRepository), 'listByOrganization');
    const readsOf = () => reads.mock.calls.filter(([id]) => id === org).length;
    /** Five events, each its own batch, all fanned out (their ranges left the ledger). */
    const fiveBatches = async (label: string) => {
      const outbox = t.app.get(EventOutboxService);
      for (let i = 0; i < 5; i++)
        await outbox.append({
          type: 'message.received',
          organizationId: org,
          sessionName: 'main',
          occurredAt: new Date(),
          data: { text: `${label} ${i}` },
        });
      await waitFor(
        async () => {
          const row = await db.collection('event_sequences').findOne({ _id: org as never });
          return Object.keys(row?.pending ?? {}).length === 0;
        },
        10_000,
        `the fan-out of ${label}`,
      );
    };
    try {
      await fiveBatches('no webhooks');
      expect(readsOf()).toBe(1); // the first batch; nothing written since
      // A webhook for another session: the list is not empty, no event matches (no deliveries).
      const r = await receiver();
      await createHook({ url: r.url, events: ['*'], sessionName: 'elsewhere' }, tenant);
      await fiveBatches('one webhook');
      expect(readsOf()).toBe(2);
    } finally {
      reads.mockRestore();
    }
  });

  it('refuses at delivery time a host that now resolves to a forbidden address (DNS rebinding)', async () => {
    const r = await receiver();
    const hook = await createHook({
      url: r.url,
      events: ['message.received'],
      sessionName: 'main',
    });
    const saved = options().allowList;
    options().allowList = new AllowList(''); // 127.0.0.1 is no longer allowed
    try {
      await inbound('rebinding');
      const pending = await waitFor(
        async () =>
          (await deliveries(hook.id)).items.find((d: { attempts: number }) => d.attempts >= 1),
        10_000,
        'a refused attempt',
      );
      expect(pending.lastError).toMatch(/127\.0\.0\.1 is a loopback address/);
      expect(pending.lastResponseCode).toBeUndefined();
      expect(r.hits).toHaveLength(0);
    } finally {
      options().allowList = saved;
    }
    await waitFor(async () => r.ok().length === 1, 10_000, 'delivery once allowed again');
    await api().delete(`/api/v1/webhooks/${hook.id}`).set(owner.auth).expect(204);
  });

  it("delivers an organization's webhooks at once while another organization's receiver holds as many requests as it may", async () => {
    const saved = { ...options() };
    // An attempt now waits a minute for an answer, much longer than this test waits for org A.
    options().timeoutMs = 60_000;
    const silent = await startSilentReceiver();
    receivers.push(silent);
    const tenantB = await registerUser(t, { organizationName: 'Slow receivers' });
    const bHooks: string[] = [];
    try {
      // Organization B: 2 sessions × 20 webhooks at a receiver that never answers = 40 lanes,
      // more than the instance's 32 delivery slots.
      await connectedSession(t, tenantB, 'b1', '+201001234577');
      await connectedSession(t, tenantB, 'b2', '+201001234566');
      for (let i = 0; i < 20; i++)
        bHooks.push(
          (await createHook({ url: silent.url, events: ['message.received'] }, tenantB)).id,
        );
      for (const session of ['b1', 'b2'])
        await api()
          .post(`/api/v1/whatsapp/sandbox/sessions/${session}/inbound`)
          .set(tenantB.auth)
          .send({ from: '+201555000222', text: `stuck on ${session}` })
          .expect(202);
      const perOrganization = options().maxConcurrentLanesPerOrganization;
      expect(perOrganization).toBeLessThan(options().maxConcurrentLanes);
      await waitFor(
        async () => silent.stats.open >= perOrganization,
        15_000,
        "organization B's attempts to take its share of the slots",
      );

      // Organization A (the owner's): its webhook is delivered while B's attempts still hang.
      const r = await receiver();
      const hook = await createHook({
        url: r.url,
        events: ['message.received'],
        sessionName: 'main',
      });
      await inbound('not held up by organization B');
      const hit = await waitFor(
        async () => r.ok().find((h) => h.body.data.text === 'not held up by organization B'),
        20_000,
        "organization A's delivery while organization B's receiver hangs",
      );
      expect(hit.body.organizationId).toBe(owner.organization.id);
      // B never held more than its share, no attempt of B's ended meanwhile, and its other lanes wait.
      expect(silent.stats.open).toBe(perOrganization);
      expect(silent.stats.maxOpen).toBe(perOrganization);
      expect(silent.stats.received).toBe(perOrganization);
      const bDeliveries = await Promise.all(
        bHooks.map(
          async (id) =>
            (await api().get(`/api/v1/webhooks/${id}/deliveries`).set(tenantB.auth).expect(200))
              .body.items,
        ),
      );
      const statuses = bDeliveries.flat().map((d: { status: string }) => d.status);
      expect(statuses).toHaveLength(40);
      expect(statuses.filter((s) => s === 'delivering')).toHaveLength(perOrganization);
      expect(statuses.filter((s) => s === 'pending')).toHaveLength(40 - perOrganization);
      await api().delete(`/api/v1/webhooks/${hook.id}`).set(owner.auth).expect(204);
    } finally {
      for (const id of bHooks)
        await api().delete(`/api/v1/webhooks/${id}`).set(tenantB.auth).expect(204);
      await silent.close(); // the attempts in flight fail now instead of after their timeout
      Object.assign(options(), saved);
      // Not left to reconnect (and announce it) across the next test's restart.
      for (const session of ['b1', 'b2'])
        await api().delete(`/api/v1/whatsapp/sessions/${session}`).set(tenantB.auth);
    }
  });

  it('lets an attempt in flight at shutdown finish and records it, instead of delivering its event again after the restart', async () => {
    // A receiver that has the whole body at once and answers 200 only once the shutdown began.
    const hits: { id: string; attempt: string }[] = [];
    let answer!: () => void;
    const answerable = new Promise<void>((resolve) => (answer = resolve));
    const url = await customReceiver((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        hits.push({ id: body.id, attempt: String(req.headers['x-webhook-attempt']) });
        void answerable.then(() => res.writeHead(200).end('ok'));
      });
    }, '/slow');
    const hook = await createHook({
      url,
      events: ['message.received'],
      sessionName: 'main',
    });
    await inbound('in flight at shutdown');
    await waitFor(async () => hits.length === 1, 10_000, 'the attempt reached the receiver');
    const shutdown = vi.spyOn(WebhookDispatcher.prototype, 'beforeApplicationShutdown');
    const due = vi.spyOn(WebhookDeliveriesRepository.prototype, 'dueLanes');
    try {
      const closing = Date.now();
      const stopping = t.app.get(WebhookDispatcher);
      const restarted = t.restart(); // app.close(), as SIGTERM does, while the receiver holds its answer
      await waitFor(
        async () => shutdown.mock.contexts.includes(stopping),
        10_000,
        'the dispatcher shutting down',
      );
      answer();
      t = await restarted;
      // The shutdown waited for the answer (bounded by the attempt's timeout) and recorded it.
      expect(Date.now() - closing).toBeLessThan(options().timeoutMs + 10_000);
      // The new app's first poll (its own previous run's claims released first) finds nothing
      // due for the webhook, so nothing goes out again.
      const repository = t.app.get(WebhookDeliveriesRepository);
      await waitFor(
        async () => due.mock.contexts.includes(repository),
        10_000,
        "the new app's first poll",
      );
      const firstPoll: Lane[] = await due.mock.results[due.mock.contexts.indexOf(repository)].value;
      expect(firstPoll.filter((lane) => lane.webhookId === hook.id)).toEqual([]);
    } finally {
      shutdown.mockRestore();
      due.mockRestore();
    }
    expect(hits).toEqual([{ id: hits[0].id, attempt: '1' }]);
    const page = await deliveries(hook.id);
    expect(page.items).toHaveLength(1);
    expect(page.items[0]).toMatchObject({
      status: 'delivered',
      attempts: 1,
      lastResponseCode: 200,
    });
    await api().delete(`/api/v1/webhooks/${hook.id}`).set(owner.auth).expect(204);
  });

  it('delivers events left undelivered before a restart, including an event whose fan-out was cut off', async () => {
    let up = false;
    const r = await receiver(() => (up ? 200 : 503));
    const hook = await createHook({
      url: r.url,
      events: ['message.received'],
      sessionName: 'main',
    });
    // One generator: ids of two generators in the same millisecond order by their random tails.
    const ids = new EventIdGenerator();
    // An event stored before the fan-out ledger (and the event sequence) existed, fanned out by the
    // previous version only in part: older than every event that has a number.
    const legacyId = ids.nextObjectId();
    await inbound('survive the restart 1');
    await inbound('survive the restart 2');
    // The inbound route answers before the gateway stored the message (the emulator delivers it
    // over the socket): only events stored before the crash take part in the order checked below.
    await waitFor(
      async () => (await deliveries(hook.id)).total === 2,
      10_000,
      'both events fanned out',
    );
    await waitFor(async () => r.hits.length >= 1, 10_000, 'a failed attempt');
    // Crashes right after an event write, before its deliveries existed: the batch's range is
    // left in the sequence's fan-out ledger (or, for a row written before the ledger, its flag).
    const db = t.app.get<string, Connection>(getConnectionToken());
    const orphan = (text: string, fanoutPending: boolean, _id = ids.nextObjectId()) => ({
      _id,
      organizationId: owner.organization.id,
      type: 'message.received',
      sessionName: 'main',
      occurredAt: new Date(),
      data: { text },
      fanoutPending,
      createdAt: new Date(),
    });
    const sequences = db.collection<{ _id: string; seq: number }>('event_sequences');
    const { seq } = (await sequences.findOneAndUpdate(
      { _id: owner.organization.id },
      { $inc: { seq: 1 } },
      { returnDocument: 'after' },
    ))!;
    await sequences.updateOne(
      { _id: owner.organization.id },
      { $set: { [`pending.r${seq}`]: { last: seq, at: new Date(0) } } },
    );
    const flagged = orphan('survive the restart 0', true, legacyId);
    const noted = {
      ...orphan('survive the restart 4', false),
      seq,
      seqBlock: Math.floor(seq / SEQ_BLOCK),
    };
    await db.collection('events').insertMany([flagged, noted]);
    t = await t.restart();
    up = true;
    await waitFor(
      async () => new Set(r.ok().map((h) => h.body.id)).size === 4,
      15_000,
      'all four delivered after the restart',
    );
    const texts = r.ok().map((h) => h.body.data.text);
    expect(texts).toEqual([
      'survive the restart 0',
      'survive the restart 1',
      'survive the restart 2',
      'survive the restart 4',
    ]);
    expect(r.ok()[0].body.id).toBe(flagged._id.toHexString());
    expect(r.ok()[3].body.id).toBe(noted._id.toHexString());
    // The ledger empties: the crash's leftover was fanned out. (Events written since, such as the
    // session's own status changes around the restart, clear their entries as they fan out.)
    await waitFor(
      async () =>
        (await t.app
          .get<string, Connection>(getConnectionToken())
          .collection('event_sequences')
          .countDocuments({ pending: { $exists: true, $ne: {} } })) === 0,
      10_000,
      'the fan-out ledger empty',
    );
    const page = await deliveries(hook.id);
    expect(page.items.every((d: { status: string }) => d.status === 'delivered')).toBe(true);
    await api().delete(`/api/v1/webhooks/${hook.id}`).set(owner.auth).expect(204);
  });

  it("takes back at once the delivery this instance had in flight at a crash, never another instance's", async () => {
    let up = false;
    const mine = await receiver(() => (up ? 200 : 503));
    const theirs = await receiver(() => (up ? 200 : 503));
    const hooks = [mine, theirs].map((r) => ({ url: r.url, events: ['message.received'] }));
    const mineHook = await createHook({ ...hooks[0], sessionName: 'main' });
    const theirHook = await createHook({ ...hooks[1], sessionName: 'main' });
    // A failed first attempt waits long for its retry, so nothing moves before the crash.
    Object.assign(options(), { retryBaseMs: 600_000 });
    await inbound('in flight at the crash');
    await inbound('behind it in its lane');
    for (const hook of [mineHook, theirHook])
      await waitFor(
        async () => {
          const page = await deliveries(hook.id, { status: 'pending' });
          return page.total === 2 && page.items.some((d: { attempts: number }) => d.attempts === 1);
        },
        10_000,
        'a failed first attempt, the second event behind it',
      );
    // What a kill -9 mid-attempt leaves: the lane's head claimed (30 s lease) by this instance,
    // and the other webhook's head by another instance that is still alive.
    const instanceId = t.app.get(SessionRegistry).instanceId;
    const rows = t.app
      .get<string, Connection>(getConnectionToken())
      .collection('webhook_deliveries');
    const claimHead = async (webhookId: string, leaseOwner: string) => {
      const [head] = await rows
        .find({ webhookId: new Types.ObjectId(webhookId) })
        .sort({ eventId: 1 })
        .limit(1)
        .toArray();
      const now = new Date();
      await rows.updateOne(
        { _id: head._id },
        {
          $set: {
            status: 'delivering',
            leaseUntil: new Date(now.getTime() + 30_000),
            leaseOwner,
            lastAttemptAt: now,
          },
        },
      );
    };
    await claimHead(mineHook.id, instanceId);
    await claimHead(theirHook.id, 'gw-other');

    t = await t.restart();
    expect(t.app.get(SessionRegistry).instanceId).toBe(instanceId);
    up = true;
    // Long before the 30 s lease would have run out (plus the 5 s poll).
    await waitFor(
      async () => mine.ok().length === 2,
      8_000,
      'both events of the lane delivered after the restart',
    );
    expect(mine.ok().map((h) => h.body.data.text)).toEqual([
      'in flight at the crash',
      'behind it in its lane',
    ]);
    // The other instance's attempt is its own until its lease runs out: its lane waits.
    expect(theirs.ok()).toHaveLength(0);
    const their = (await deliveries(theirHook.id)).items as Array<{ status: string }>;
    expect(their.map((d) => d.status).sort()).toEqual(['delivering', 'pending']);
    for (const hook of [mineHook, theirHook])
      await api().delete(`/api/v1/webhooks/${hook.id}`).set(owner.auth).expect(204);
  });
});
