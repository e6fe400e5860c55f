import { get, type IncomingMessage } from 'node:http';
import { getConnectionToken } from '@nestjs/mongoose';
import { MongoNetworkError } from 'mongodb';
import type { Connection } from 'mongoose';
import { MessageEffectsRecovery } from '../apps/api/src/messaging/message-effects-recovery.service';
import { MONGO_TARGET, type MongoTarget } from '../apps/api/src/database/database.module';
import { EVENTS_OPTIONS, type EventsOptions } from '../apps/api/src/events/events.options';
import { EventIdGenerator } from '../apps/api/src/events/event-id';
import { EventSequencesRepository } from '../apps/api/src/events/event-sequences.repository';
import { EventsRepository } from '../apps/api/src/events/events.repository';
import { EventStreamService } from '../apps/api/src/events/event-stream.service';
import { EventOutboxService } from '../apps/api/src/events/event-outbox.service';
import { EventTailService, type OrganizationTail } from '../apps/api/src/events/event-tail.service';
import { SESSION_STATE_STORE, type SessionStateStore } from '@app/whatsapp';
import { connectedSession, waitForSessionStatus } from './support/sandbox';
import {
  createTestApp,
  registerUser,
  uniqueEmail,
  type RegisteredUser,
  type TestApp,
} from './support/test-app';
import { waitFor } from './support/wait';

interface SseMessage {
  id?: string;
  data: any;
}

/** A minimal EventSource over node:http: collects messages and comments until closed. */
function openStream(
  baseUrl: string,
  query: Record<string, string> = {},
  headers: Record<string, string> = {},
) {
  const url = new URL('/api/v1/events', baseUrl);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  const messages: SseMessage[] = [];
  const comments: string[] = [];
  let response: IncomingMessage | undefined;
  let body = '';
  let buffer = '';
  let destroy = () => undefined as void;
  let ended: Promise<void> = Promise.resolve();
  const ready = new Promise<IncomingMessage>((resolve, reject) => {
    const req = get(url, { headers: { Accept: 'text/event-stream', ...headers } }, (res) => {
      response = res;
      ended = new Promise((r) => res.on('end', r));
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (res.statusCode !== 200) {
          body += chunk;
          return;
        }
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const message: { id?: string; data?: string } = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line.slice(1).trim());
            else if (line.startsWith('id: ')) message.id = line.slice(4);
            else if (line.startsWith('data: ')) message.data = (message.data ?? '') + line.slice(6);
          }
          if (message.data !== undefined)
            messages.push({ id: message.id, data: JSON.parse(message.data) });
        }
      });
      resolve(res);
    });
    req.on('error', reject);
    destroy = () => void req.destroy();
  });
  const stream = {
    messages,
    comments,
    ready,
    status: () => response?.statusCode,
    errorBody: async () => {
      await ended;
      return JSON.parse(body);
    },
    close: () => destroy(),
    of: (type: string) => messages.filter((m) => m.data.type === type),
  };
  return stream;
}

describe('events stream (SSE)', () => {
  let t: TestApp;
  let owner: RegisteredUser;
  let stranger: RegisteredUser;
  const streams: Array<{ close: () => void }> = [];

  const open = (...args: Parameters<typeof openStream>) => {
    const s = openStream(...args);
    streams.push(s);
    return s;
  };
  const bearer = (user: RegisteredUser) => ({ Authorization: user.auth.Authorization });
  const inbound = (text: string, user = owner, session = 'main') =>
    t
      .http()
      .post(`/api/v1/whatsapp/sandbox/sessions/${session}/inbound`)
      .set(user.auth)
      .send({ from: '+201555000111', text })
      .expect(202);
  const received = (s: ReturnType<typeof openStream>, text: string) =>
    waitFor(
      async () => s.of('message.received').find((m) => m.data.data.text === text),
      10_000,
      `"${text}" on the stream`,
    );

  beforeAll(async () => {
    t = await createTestApp({ WEBHOOK_ALLOWED_HOSTS: '127.0.0.1', WEBHOOK_RETRY_BASE_MS: '50' });
    owner = await registerUser(t);
    stranger = await registerUser(t, { organizationName: 'Stranger' });
    await connectedSession(t, owner, 'main');
    await connectedSession(t, stranger, 'main', '+201001234577');
  });
  afterEach(() => {
    for (const s of streams.splice(0)) s.close();
  });
  afterAll(() => t?.close());

  it('lets go of a stream whose client left while it was being set up', async () => {
    const service = t.app.get(EventStreamService);
    const tails = t.app.get(EventTailService);
    const subscribe = tails.subscribe.bind(tails);
    let entered!: () => void;
    const setUpHeld = new Promise<void>((resolve) => (entered = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const spy = vi.spyOn(tails, 'subscribe').mockImplementationOnce(async (...args) => {
      entered();
      await released;
      return subscribe(...args);
    });
    const before = service.connections;
    const left = open(t.url, {}, bearer(owner));
    left.ready.catch(() => undefined); // no response comes: the client is gone first
    await setUpHeld;
    left.close();
    await new Promise((r) => setTimeout(r, 100)); // the server sees the connection close
    release();
    await waitFor(
      async () => service.connections === before,
      5_000,
      'the stream of the client that left closed',
    );
    spy.mockRestore();
  });

  it('streams live events with id: = event id, org-scoped', async () => {
    const mine = open(t.url, {}, bearer(owner));
    const theirs = open(t.url, {}, bearer(stranger));
    const res = await mine.ready;
    await theirs.ready;
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/event-stream');
    expect(res.headers['cache-control']).toContain('no-cache');

    await inbound('live one');
    const message = await received(mine, 'live one');
    expect(message.id).toBe(message.data.id);
    expect(message.data).toMatchObject({
      type: 'message.received',
      organizationId: owner.organization.id,
      sessionName: 'main',
      data: { text: 'live one', direction: 'in' },
    });
    await inbound('their own', stranger);
    await received(theirs, 'their own');
    // Neither organization ever sees the other's events.
    expect(theirs.messages.every((m) => m.data.organizationId === stranger.organization.id)).toBe(
      true,
    );
    expect(mine.messages.every((m) => m.data.organizationId === owner.organization.id)).toBe(true);
    expect(theirs.messages.some((m) => m.data.data?.text === 'live one')).toBe(false);
  });

  it('filters by types and sessionName', async () => {
    await connectedSession(t, owner, 'side', '+201001234566');
    const onlyMain = open(t.url, { types: 'message.received', sessionName: 'main' }, bearer(owner));
    const statuses = open(t.url, { types: 'message.sent,message.status' }, bearer(owner));
    await Promise.all([onlyMain.ready, statuses.ready]);
    await inbound('side message', owner, 'side');
    await inbound('main message');
    const sent = (
      await t
        .http()
        .post('/api/v1/whatsapp/messages/send')
        .set(owner.auth)
        .send({ sessionName: 'main', to: '+201112223334', text: 'x' })
        .expect(202)
    ).body;
    await received(onlyMain, 'main message');
    await waitFor(
      async () => statuses.of('message.sent').find((m) => m.data.data.id === sent.id),
      10_000,
      'message.sent',
    );
    expect(onlyMain.messages.map((m) => m.data.type)).toEqual(['message.received']);
    expect(onlyMain.messages.every((m) => m.data.sessionName === 'main')).toBe(true);
    expect(
      statuses.messages.every((m) => ['message.sent', 'message.status'].includes(m.data.type)),
    ).toBe(true);

    const bad = open(t.url, { types: 'message.nope' }, bearer(owner));
    expect((await bad.ready).statusCode).toBe(400);
  });

  it('announces chats read through the gateway and on the phone (chat.read)', async () => {
    const peer = '+201555000122';
    const jid = '201555000122@s.whatsapp.net';
    const reads = open(t.url, { types: 'chat.read' }, bearer(owner));
    await reads.ready;
    const said = async (text: string) =>
      (
        await t
          .http()
          .post('/api/v1/whatsapp/sandbox/sessions/main/inbound')
          .set(owner.auth)
          .send({ from: peer, text })
          .expect(202)
      ).body.waMessageId as string;
    const markRead = () =>
      t
        .http()
        .post('/api/v1/whatsapp/chats/read')
        .set(owner.auth)
        .send({ sessionName: 'main', chat: peer })
        .expect(200);
    const unread = async () =>
      (
        await t.http().get('/api/v1/whatsapp/chats').query({ limit: 100 }).set(owner.auth)
      ).body.items.find((c: { chatJid: string }) => c.chatJid === jid)?.unreadCount;

    const first = await said('read on the phone');
    await waitFor(async () => (await unread()) === 1, 10_000, 'one unread');
    const stored = (
      await t.http().get('/api/v1/whatsapp/messages').query({ chat: jid }).set(owner.auth)
    ).body.items.find((m: { waMessageId: string }) => m.waMessageId === first);
    await t
      .http()
      .post('/api/v1/whatsapp/sandbox/sessions/main/phone-read')
      .set(owner.auth)
      .send({ messageIds: [stored.id] })
      .expect(202);
    const onPhone = await waitFor(async () => reads.of('chat.read')[0], 10_000, 'chat.read');
    expect(onPhone.data).toMatchObject({
      sessionName: 'main',
      data: { marked: 1, readOn: 'phone', chat: { chatJid: jid, unreadCount: 0 } },
    });

    await said('one');
    await said('two');
    await waitFor(async () => (await unread()) === 2, 10_000, 'two unread');
    await markRead();
    const viaApi = await waitFor(async () => reads.of('chat.read')[1], 10_000, 'a second read');
    expect(viaApi.data.data).toMatchObject({
      marked: 2,
      readOn: 'gateway',
      chat: { chatJid: jid, unreadCount: 0 },
    });
    // Nothing left to read: no event.
    await markRead();
    await inbound('after the reads');
    // In the organization's order, nothing came between the second read and this message.
    const later = open(t.url, { lastEventId: viaApi.id! }, bearer(owner));
    await received(later, 'after the reads');
    expect(later.of('chat.read')).toHaveLength(0);
  });

  it('resumes after Last-Event-ID (header or query) from the outbox, then continues live', async () => {
    const first = open(t.url, { types: 'message.received' }, bearer(owner));
    await first.ready;
    await inbound('before the gap');
    const last = await received(first, 'before the gap');
    first.close();

    for (const text of ['gap 1', 'gap 2', 'gap 3']) await inbound(text);
    // Other organizations' events in the gap must not be replayed.
    await inbound('stranger in the gap', stranger);
    await new Promise((r) => setTimeout(r, 300));

    const resumed = open(t.url, {}, { ...bearer(owner), 'Last-Event-ID': last.id! });
    await resumed.ready;
    await received(resumed, 'gap 3');
    await inbound('after resume');
    await received(resumed, 'after resume');
    const texts = resumed.of('message.received').map((m) => m.data.data.text);
    expect(texts).toEqual(['gap 1', 'gap 2', 'gap 3', 'after resume']);
    const ids = resumed.messages.map((m) => m.id!);
    expect([...ids].sort()).toEqual(ids);
    expect(ids.every((id) => id > last.id!)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(resumed.messages.every((m) => m.data.organizationId === owner.organization.id)).toBe(
      true,
    );

    const byQuery = open(
      t.url,
      { lastEventId: last.id!, types: 'message.received' },
      bearer(owner),
    );
    await received(byQuery, 'after resume');
    expect(byQuery.messages.map((m) => m.data.data.text)).toEqual([
      'gap 1',
      'gap 2',
      'gap 3',
      'after resume',
    ]);

    // The stranger replaying from the same id sees only its own organization.
    const strangerReplay = open(
      t.url,
      { types: 'message.received' },
      { ...bearer(stranger), 'Last-Event-ID': last.id! },
    );
    await received(strangerReplay, 'stranger in the gap');
    expect(strangerReplay.messages.map((m) => m.data.data.text)).toEqual(['stranger in the gap']);

    const invalid = open(t.url, {}, { ...bearer(owner), 'Last-Event-ID': 'nope' });
    expect((await invalid.ready).statusCode).toBe(400);
    expect((await invalid.errorBody()).code).toBe('INVALID_LAST_EVENT_ID');
    // The query parameter is the same resume point, so the same code (docs/errors.md).
    const invalidQuery = open(t.url, { lastEventId: 'nope' }, bearer(owner));
    expect((await invalidQuery.ready).statusCode).toBe(400);
    expect((await invalidQuery.errorBody()).code).toBe('INVALID_LAST_EVENT_ID');
    // The header wins over the query: a valid header resumes whatever the query says.
    const headerWins = open(
      t.url,
      { lastEventId: 'nope', types: 'message.received' },
      { ...bearer(owner), 'Last-Event-ID': last.id! },
    );
    expect((await headerWins.ready).statusCode).toBe(200);
  });

  it('announces a received message whose event write failed once, when recovery replays its effects', async () => {
    // The failed write leaves its sequence number unused, and live streams wait out the gap
    // timeout (5 s) before they move over it: shorter here, for the tail of an organization of its
    // own (a tail keeps the timeout it started with).
    const options = t.app.get<symbol, EventsOptions>(EVENTS_OPTIONS);
    const saved = options.tailGapTimeoutMs;
    options.tailGapTimeoutMs = 500;
    try {
      const user = await registerUser(t, { organizationName: 'Event write failed' });
      await connectedSession(t, user, 'main', '+201001234588');
      const s = open(t.url, { types: 'message.received' }, bearer(user));
      await s.ready;
      // The database drops the event's write (the message itself was stored just before).
      const blip = vi
        .spyOn(t.app.get(EventsRepository), 'insertMany')
        .mockRejectedValueOnce(new MongoNetworkError('connection reset while storing the event'));
      try {
        await inbound('its event write failed', user);
        await waitFor(async () => blip.mock.calls.length > 0, 10_000, 'the failed event write');
      } finally {
        blip.mockRestore();
      }
      await waitFor(
        async () =>
          (
            await t
              .http()
              .get('/api/v1/whatsapp/messages')
              .query({ search: 'its event write failed' })
              .set(user.auth)
          ).body.total === 1,
        10_000,
        'the message stored',
      );
      await new Promise((r) => setTimeout(r, 300)); // its effects have run (or failed)
      // The stream's tail moved over every number reserved so far, the unused one included, so the
      // replay's event comes next in line (a tail moving over a gap while the replay's number is
      // reserved but not yet stored would move over that one too).
      const tails = (
        t.app.get(EventTailService) as unknown as { tails: Map<string, Promise<OrganizationTail>> }
      ).tails;
      const reserved = await t.app.get(EventOutboxService).lastSequence(user.organization.id);
      await waitFor(
        async () => (await tails.get(user.organization.id))!.cursor >= reserved,
        10_000,
        'the live tail past the unused number',
      );
      // Later: its creation note is past the grace period and recovery replays what it left undone.
      const notes = t.app
        .get<string, Connection>(getConnectionToken())
        .collection('message_creations');
      await notes.updateMany({}, { $set: { createdAt: new Date(Date.now() - 10 * 60_000) } });
      await t.app.get(MessageEffectsRecovery).recover();
      await received(s, 'its event write failed');
      expect(s.of('message.received').map((m) => m.data.data.text)).toEqual([
        'its event write failed',
      ]);
    } finally {
      options.tailGapTimeoutMs = saved;
    }
  });

  it('authenticates with a bearer header or a short-lived stream token that nothing else accepts', async () => {
    const missing = open(t.url);
    expect((await missing.ready).statusCode).toBe(401);
    expect(await missing.errorBody()).toMatchObject({ statusCode: 401, code: 'UNAUTHORIZED' });

    const token = (await t.http().post('/api/v1/events/token').set(owner.auth).expect(201)).body;
    expect(token).toMatchObject({ token: expect.any(String), expiresIn: 60 });
    const viaQuery = open(t.url, { access_token: token.token, types: 'message.received' });
    expect((await viaQuery.ready).statusCode).toBe(200);
    await inbound('query token');
    await received(viaQuery, 'query token');

    // The stream token is not an access token…
    await t
      .http()
      .get('/api/v1/auth/me')
      .set({ Authorization: `Bearer ${token.token}` })
      .expect(401);
    await t
      .http()
      .get('/api/v1/webhooks')
      .set({ Authorization: `Bearer ${token.token}` })
      .expect(401);
    // …and a long-lived access token is not accepted in the URL.
    const accessInQuery = open(t.url, { access_token: owner.token });
    expect((await accessInQuery.ready).statusCode).toBe(401);
    const garbage = open(t.url, { access_token: 'x.y.z' });
    expect((await garbage.ready).statusCode).toBe(401);
  });

  it('authenticates before it validates the query (401, not 400, without credentials)', async () => {
    const invalid: Record<string, string>[] = [
      { types: 'message.nope' },
      { sessionName: '../x' },
      { foo: 'bar' },
    ];
    for (const query of invalid) {
      const anonymous = open(t.url, query);
      expect((await anonymous.ready).statusCode).toBe(401);
      expect(await anonymous.errorBody()).toMatchObject({ statusCode: 401, code: 'UNAUTHORIZED' });
      const badToken = open(t.url, { ...query, access_token: 'x.y.z' });
      expect((await badToken.ready).statusCode).toBe(401);
    }
    const token = (await t.http().post('/api/v1/events/token').set(owner.auth).expect(201)).body;
    const signedIn = open(t.url, { types: 'message.nope', access_token: token.token });
    expect((await signedIn.ready).statusCode).toBe(400);
    expect(await signedIn.errorBody()).toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('writes heartbeat comments', async () => {
    const options = t.app.get<symbol, EventsOptions>(EVENTS_OPTIONS);
    const saved = options.heartbeatMs;
    options.heartbeatMs = 100;
    try {
      const s = open(t.url, {}, bearer(owner));
      await s.ready;
      await waitFor(
        async () => s.comments.filter((c) => c.startsWith('heartbeat')).length >= 2,
        5_000,
        'two heartbeats',
      );
    } finally {
      options.heartbeatMs = saved;
    }
  });

  it('ends the stream of a user who is disabled meanwhile (access is checked at each heartbeat)', async () => {
    const options = t.app.get<symbol, EventsOptions>(EVENTS_OPTIONS);
    const saved = options.heartbeatMs;
    options.heartbeatMs = 100;
    try {
      const email = uniqueEmail('streamer');
      const member = await t
        .http()
        .post('/api/v1/organizations/me/users')
        .set(owner.auth)
        .send({ name: 'S', email, password: 'password-123', role: 'member' })
        .expect(201);
      const { accessToken } = (
        await t
          .http()
          .post('/api/v1/auth/login')
          .send({ email, password: 'password-123' })
          .expect(200)
      ).body;
      const s = open(t.url, {}, { Authorization: `Bearer ${accessToken}` });
      const response = await s.ready;
      expect(response.statusCode).toBe(200);
      const ended = new Promise<void>((resolve) => response.on('end', resolve));
      await t
        .http()
        .patch(`/api/v1/organizations/me/users/${member.body.id}`)
        .set(owner.auth)
        .send({ disabled: true })
        .expect(200);
      await ended;
      const again = await open(t.url, {}, { Authorization: `Bearer ${accessToken}` }).ready;
      expect(again.statusCode).toBe(401);
      // Enabled again: the token from before the disable stays dead here too.
      await t
        .http()
        .patch(`/api/v1/organizations/me/users/${member.body.id}`)
        .set(owner.auth)
        .send({ disabled: false })
        .expect(200);
      const revived = await open(t.url, {}, { Authorization: `Bearer ${accessToken}` }).ready;
      expect(revived.statusCode).toBe(401);
    } finally {
      options.heartbeatMs = saved;
    }
  });

  it('carries session events (status and QR) with session DTO fields', async () => {
    const s = open(
      t.url,
      { types: 'session.status,session.qr', sessionName: 'fresh' },
      bearer(owner),
    );
    await s.ready;
    await connectedSession(t, owner, 'fresh', '+201001234555');
    const connected = await waitFor(
      async () => s.of('session.status').find((m) => m.data.data.status === 'connected'),
      10_000,
      'connected',
    );
    expect(connected.data.data).toMatchObject({
      sessionName: 'fresh',
      phone: '201001234555',
      previousStatus: expect.any(String),
      statusChangedAt: expect.any(String),
    });
    // The first says there was no status before it (the one a session is created with is never
    // announced); each later one names the status announced before it.
    const changes = s.of('session.status').map((m) => m.data.data);
    expect(changes[0]).toMatchObject({ status: 'connecting', previousStatus: null });
    for (let i = 1; i < changes.length; i++)
      expect(changes[i].previousStatus).toBe(changes[i - 1].status);
    expect(s.of('session.qr')[0].data.data).toMatchObject({
      sessionName: 'fresh',
      status: 'qr_ready',
      qr: expect.stringMatching(/^data:image\/png;base64,/),
    });
    const ids = s.messages.map((m) => m.id!);
    expect([...ids].sort()).toEqual(ids);
  });
  it('announces each delete of a session once (session.deleted), also of one logged out before, never a delete that failed', async () => {
    const deletedOf = (s: ReturnType<typeof openStream>, name: string) =>
      s.of('session.deleted').filter((m) => m.data.sessionName === name);
    const announced = (s: ReturnType<typeof openStream>, name: string) =>
      waitFor(async () => deletedOf(s, name)[0], 10_000, `session.deleted of ${name}`);
    const remove = (name: string) =>
      t.http().delete(`/api/v1/whatsapp/sessions/${name}`).set(owner.auth);
    const s = open(t.url, { types: 'session.deleted' }, bearer(owner));
    const all = open(t.url, { types: 'session.status,session.deleted' }, bearer(owner));
    await Promise.all([s.ready, all.ready]);

    // A connected session: its logout, then its deletion.
    await connectedSession(t, owner, 'doomed', '+201001234511');
    await remove('doomed').expect(204);
    const event = await announced(s, 'doomed');
    expect(event.data).toMatchObject({
      type: 'session.deleted',
      organizationId: owner.organization.id,
      sessionName: 'doomed',
      data: {
        sessionId: `${owner.organization.id}_doomed`,
        sessionName: 'doomed',
        phone: '201001234511',
        deletedAt: event.data.occurredAt,
      },
    });
    const doomed = all.messages.filter((m) => m.data.sessionName === 'doomed');
    expect(doomed.at(-2)!.data.data.status).toBe('logged_out');
    expect(doomed.at(-1)!.data.type).toBe('session.deleted');
    await remove('doomed').expect(404);

    // Logged out on the phone before: the delete changes no status, and is still announced.
    await connectedSession(t, owner, 'unlinked', '+201001234512');
    await t
      .http()
      .post('/api/v1/whatsapp/sandbox/sessions/unlinked/disconnect')
      .set(owner.auth)
      .send({ reason: 'loggedOut' })
      .expect(202);
    await waitForSessionStatus(t, owner, 'unlinked', 'logged_out');
    await remove('unlinked').expect(204);
    await announced(s, 'unlinked');

    // A delete whose document removal fails answers 500 and announces nothing; asked again, once.
    await connectedSession(t, owner, 'stubborn', '+201001234513');
    const store = t.app.get<SessionStateStore>(SESSION_STATE_STORE);
    const failing = vi.spyOn(store, 'delete').mockRejectedValueOnce(new Error('write refused'));
    await remove('stubborn').expect(500);
    failing.mockRestore();
    await remove('stubborn').expect(204);
    await announced(s, 'stubborn');

    // Two deletes at once: one 204, one 404, one event.
    await connectedSession(t, owner, 'raced', '+201001234514');
    const answers = await Promise.all([remove('raced'), remove('raced')]);
    expect(answers.map((r) => r.status).sort()).toEqual([204, 404]);
    await announced(s, 'raced');

    // The organization's events come in one order: once the last one is here, any second copy of
    // an earlier one would have come before it.
    await connectedSession(t, owner, 'marker', '+201001234515');
    await remove('marker').expect(204);
    await announced(s, 'marker');
    for (const name of ['doomed', 'unlinked', 'stubborn', 'raced'])
      expect(deletedOf(s, name), name).toHaveLength(1);
    expect(s.messages.every((m) => m.data.type === 'session.deleted')).toBe(true);
  });
});

describe('events stream across two instances sharing one database', () => {
  let a: TestApp;
  let b: TestApp;
  let owner: RegisteredUser;
  const streams: Array<{ close: () => void }> = [];
  const bearer = () => ({ Authorization: owner.auth.Authorization });
  const open = (...args: Parameters<typeof openStream>) => {
    const s = openStream(...args);
    streams.push(s);
    return s;
  };
  const inbound = (on: TestApp, session: string, text: string) =>
    on
      .http()
      .post(`/api/v1/whatsapp/sandbox/sessions/${session}/inbound`)
      .set(owner.auth)
      .send({ from: '+201555000222', text })
      .expect(202);
  const texts = (s: ReturnType<typeof openStream>) =>
    s.of('message.received').map((m) => m.data.data.text as string);

  beforeAll(async () => {
    a = await createTestApp();
    b = await createTestApp({ MONGODB_URI: a.app.get<symbol, MongoTarget>(MONGO_TARGET).uri });
    owner = await registerUser(a);
    // Each session is held (leased) by the instance that started it.
    await connectedSession(a, owner, 'on-a', '+201001230001');
    await connectedSession(b, owner, 'on-b', '+201001230002');
  });
  afterEach(() => {
    for (const s of streams.splice(0)) s.close();
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it("streams the other instance's events live, in one order, and resumes across instances", async () => {
    const onA = open(a.url, { types: 'message.received' }, bearer());
    const onB = open(b.url, { types: 'message.received' }, bearer());
    await Promise.all([onA.ready, onB.ready]);
    for (let i = 0; i < 3; i++) {
      await inbound(b, 'on-b', `from b ${i}`);
      await inbound(a, 'on-a', `from a ${i}`);
    }
    const all = ['from b 0', 'from a 0', 'from b 1', 'from a 1', 'from b 2', 'from a 2'];
    for (const s of [onA, onB])
      await waitFor(async () => texts(s).length === 6, 10_000, 'six events on both streams');
    // Both instances deliver the organization's events in the same (sequence) order.
    expect(texts(onA)).toEqual(texts(onB));
    expect(new Set(texts(onA))).toEqual(new Set(all));

    // Resume on A from an event B wrote; what follows comes from both instances.
    const last = onB.of('message.received')[2];
    onA.close();
    const resumed = open(
      a.url,
      { types: 'message.received' },
      { ...bearer(), 'Last-Event-ID': last.id! },
    );
    await resumed.ready;
    await inbound(b, 'on-b', 'after resume');
    await waitFor(
      async () => texts(resumed).includes('after resume'),
      10_000,
      'the live event after the replay',
    );
    expect(texts(resumed)).toEqual([...texts(onB).slice(3, 6), 'after resume']);
  });

  it('delivers an event another instance reserved before the stream opened and stored after', async () => {
    const first = open(a.url, { types: 'message.received' }, bearer());
    await first.ready;
    await inbound(a, 'on-a', 'before the gap');
    await waitFor(async () => texts(first).length === 1, 10_000, 'the first event');
    const lastId = first.messages[0].id!;
    first.close(); // the last listener: A's tail for the organization is retired
    await waitFor(
      async () => a.app.get(EventStreamService).connections === 0,
      5_000,
      'the stream closed on A',
    );

    // B's outbox between its two writes: the number is reserved, the event not stored yet.
    const organizationId = owner.user.organizationId;
    const { first: seq } = await b.app.get(EventSequencesRepository).reserve(organizationId, 1);
    const resumed = open(
      a.url,
      { types: 'message.received' },
      { ...bearer(), 'Last-Event-ID': lastId },
    );
    await resumed.ready;
    await new Promise((r) => setTimeout(r, 200)); // the replay has run
    await b.app.get(EventsRepository).insertMany(
      [
        {
          id: new EventIdGenerator().next(),
          type: 'message.received',
          organizationId,
          sessionName: 'on-b',
          occurredAt: new Date(),
          data: { text: 'in flight' },
          seq,
        },
      ],
      new Date(),
    );
    await b.app.get(EventSequencesRepository).settle(organizationId, seq);
    await inbound(a, 'on-a', 'after the gap');
    await waitFor(
      async () => texts(resumed).includes('after the gap'),
      10_000,
      'the live event after the gap',
    );
    expect(texts(resumed)).toEqual(['in flight', 'after the gap']);
  });
});

describe('session.deleted across a restart', () => {
  let t: TestApp;
  afterAll(() => t?.close());

  it('announces after a restart, once, a deletion whose event write failed (as a crash between the delete and the write would leave it)', async () => {
    t = await createTestApp();
    const owner = await registerUser(t, { organizationName: 'Deleted across a restart' });
    await connectedSession(t, owner, 'gone', '+201001234521');
    const before = openStream(t.url, { types: 'session.status' }, { ...owner.auth });
    await before.ready;
    const events = () => t.app.get<string, Connection>(getConnectionToken()).collection('events');
    const deletions = async () =>
      events().countDocuments({ organizationId: owner.organization.id, type: 'session.deleted' });

    // The database drops the session.deleted write, after the session's document was deleted.
    const repository = t.app.get(EventsRepository);
    const insertMany = repository.insertMany.bind(repository);
    const dropped = vi.spyOn(repository, 'insertMany').mockImplementation(async (docs, ...rest) => {
      if (docs.some((e) => e.type === 'session.deleted')) {
        dropped.mockRestore();
        throw new MongoNetworkError('connection reset while storing the event');
      }
      return insertMany(docs, ...rest);
    });
    try {
      await t.http().delete('/api/v1/whatsapp/sessions/gone').set(owner.auth).expect(204);
    } finally {
      dropped.mockRestore();
    }
    const loggedOut = await waitFor(
      async () => before.of('session.status').find((m) => m.data.data.status === 'logged_out'),
      10_000,
      'the logout before the delete',
    );
    before.close();
    expect(await deletions()).toBe(0);
    await t.http().get('/api/v1/whatsapp/sessions/gone/status').set(owner.auth).expect(404);

    // The next boot announces it; a consumer resuming after the logout gets it.
    t = await t.restart();
    const resumed = openStream(
      t.url,
      { types: 'session.deleted' },
      { ...owner.auth, 'Last-Event-ID': loggedOut.id! },
    );
    try {
      const deleted = await waitFor(
        async () => resumed.of('session.deleted')[0],
        10_000,
        'session.deleted after the restart',
      );
      expect(deleted.data).toMatchObject({
        sessionName: 'gone',
        data: { sessionId: `${owner.organization.id}_gone`, sessionName: 'gone' },
      });
    } finally {
      resumed.close();
    }
    // Announced once: a later boot finds nothing left to announce.
    t = await t.restart();
    expect(await deletions()).toBe(1);
  });
});
