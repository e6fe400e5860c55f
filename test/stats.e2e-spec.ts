import { EventEmitter2 } from '@nestjs/event-emitter';
import { getConnectionToken } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import { StatsRepository } from '../apps/api/src/stats/stats.repository';
import type {
  MessageRecord,
  MessageStatus,
  MessageType,
} from '../apps/api/src/messaging/message.types';
import {
  MESSAGING_EVENTS,
  type MessagesCreatedEvent,
  type MessageStatusChangedEvent,
} from '../apps/api/src/messaging/messaging.events';
import {
  connectedSession,
  sandboxInbound,
  sendText,
  waitForSessionStatus,
} from './support/sandbox';
import { createTestApp, registerUser, type RegisteredUser, type TestApp } from './support/test-app';
import { waitFor } from './support/wait';

/**
 * Hand-built fixture driven through the real messaging events (EventEmitter2.emitAsync awaits the
 * stats listener). Figures below are computed by hand; see the comments next to each message.
 */
describe('GET /api/v1/whatsapp/stats (e2e)', () => {
  let t: TestApp;
  let orgA: RegisteredUser;
  let orgB: RegisteredUser;
  let events: EventEmitter2;

  const at = (iso: string) => new Date(iso);
  let seq = 0;
  function msg(
    org: RegisteredUser,
    over: Partial<MessageRecord> & {
      direction: 'in' | 'out';
      timestamp: Date;
      chatJid: string;
      sessionName: string;
    },
  ): MessageRecord {
    seq += 1;
    const organizationId = org.organization.id;
    return {
      _id: over._id ?? `${organizationId.slice(-6)}m${String(seq).padStart(4, '0')}`,
      organizationId,
      sessionId: `${organizationId}_${over.sessionName}`,
      fromMe: over.direction === 'out',
      type: 'text' as MessageType,
      status: (over.direction === 'out' ? 'pending' : 'delivered') as MessageStatus,
      attempts: 0,
      createdAt: over.timestamp,
      updatedAt: over.timestamp,
      ...over,
    } as MessageRecord;
  }
  const created = (message: MessageRecord) =>
    events.emitAsync(MESSAGING_EVENTS.created, {
      sessionId: message.sessionId,
      messages: [message],
      // A redelivered event brings the same note, as a crash replay does.
      notes: [{ id: `note-${message._id}`, messageIds: [message._id] }],
    } satisfies MessagesCreatedEvent);
  /** Emits a change to `status` with the message as Messaging would hold it after the write. */
  const changed = (message: MessageRecord, status: MessageStatus, error?: string) =>
    events.emitAsync(MESSAGING_EVENTS.statusChanged, {
      message: { ...message, status, ...(error ? { error } : {}) },
      status,
      at: new Date(),
    } satisfies MessageStatusChangedEvent);
  /** Created as pending, then walked through `path` one forward step at a time. */
  async function outgoing(message: MessageRecord, path: MessageStatus[] = [], error?: string) {
    await created(message);
    for (const status of path)
      await changed(message, status, status === 'failed' ? error : undefined);
  }
  const get = (user: RegisteredUser, query: Record<string, string> = {}) =>
    t.http().get('/api/v1/whatsapp/stats').query(query).set(user.auth);

  beforeAll(async () => {
    t = await createTestApp();
    events = t.app.get(EventEmitter2);
    orgA = await registerUser(t, { organizationName: 'Stats A' });
    orgB = await registerUser(t, { organizationName: 'Stats B' });
    const A = (over: Parameters<typeof msg>[1]) => msg(orgA, over);

    // ---- 2026-03-10, session s1 -------------------------------------------------------------
    const i1 = A({
      direction: 'in',
      sessionName: 's1',
      chatJid: 'chatA@s.whatsapp.net',
      timestamp: at('2026-03-10T09:00:00Z'),
    });
    const i2 = A({
      direction: 'in',
      sessionName: 's1',
      chatJid: 'chatB@s.whatsapp.net',
      timestamp: at('2026-03-10T09:30:00Z'),
      type: 'image',
    });
    await created(i1);
    await created(i2);
    await created(i1); // duplicate created event: no effect
    // o1 answers chatA after 1 h (sample 3 600 000 ms); pending → sent → delivered → read
    const o1 = A({
      direction: 'out',
      sessionName: 's1',
      chatJid: 'chatA@s.whatsapp.net',
      timestamp: at('2026-03-10T10:00:00Z'),
    });
    await outgoing(o1, ['sent', 'delivered', 'read']);
    await created(o1); // duplicate created
    await changed(o1, 'delivered'); // duplicate / stale status event
    // o2 answers chatB after 35 min (sample 2 100 000 ms); receipts out of order: read arrives before delivered
    const o2 = A({
      direction: 'out',
      sessionName: 's1',
      chatJid: 'chatB@s.whatsapp.net',
      timestamp: at('2026-03-10T10:05:00Z'),
    });
    await outgoing(o2, ['sent', 'read']);
    await changed(o2, 'delivered'); // late delivered: must not move read back
    await changed(o2, 'read'); // redelivered
    // o3, o4 fail with the same reason (o3 event duplicated)
    const o3 = A({
      direction: 'out',
      sessionName: 's1',
      chatJid: 'chatG@s.whatsapp.net',
      timestamp: at('2026-03-10T11:00:00Z'),
      type: 'image',
    });
    await outgoing(o3, ['failed'], 'Session not connected');
    await changed(o3, 'failed', 'Session not connected');
    const o4 = A({
      direction: 'out',
      sessionName: 's1',
      chatJid: 'chatG@s.whatsapp.net',
      timestamp: at('2026-03-10T12:00:00Z'),
    });
    await outgoing(o4, ['failed'], 'Session not connected');
    // o5 voice note: played
    const o5 = A({
      direction: 'out',
      sessionName: 's1',
      chatJid: 'chatH@s.whatsapp.net',
      timestamp: at('2026-03-10T12:30:00Z'),
      type: 'voice',
    });
    await outgoing(o5, ['sent', 'delivered', 'played']);

    // ---- 2026-03-11, session s2 -------------------------------------------------------------
    // chatC: two unanswered inbound (07:00, 07:30), answered at 08:00 → one sample from 07:00 (3 600 000 ms)
    await created(
      A({
        direction: 'in',
        sessionName: 's2',
        chatJid: 'chatC@s.whatsapp.net',
        timestamp: at('2026-03-11T07:00:00Z'),
      }),
    );
    await created(
      A({
        direction: 'in',
        sessionName: 's2',
        chatJid: 'chatC@s.whatsapp.net',
        timestamp: at('2026-03-11T07:30:00Z'),
      }),
    );
    await created(
      A({
        direction: 'in',
        sessionName: 's2',
        chatJid: 'chatD@s.whatsapp.net',
        timestamp: at('2026-03-11T07:45:00Z'),
        type: 'reaction',
      }),
    );
    await outgoing(
      A({
        direction: 'out',
        sessionName: 's2',
        chatJid: 'chatC@s.whatsapp.net',
        timestamp: at('2026-03-11T08:00:00Z'),
      }),
      ['sent'],
    );
    await outgoing(
      A({
        direction: 'out',
        sessionName: 's2',
        chatJid: 'chatI@s.whatsapp.net',
        timestamp: at('2026-03-11T08:10:00Z'),
        type: 'document',
      }),
      ['failed'],
      'Invalid recipient',
    );
    await outgoing(
      A({
        direction: 'out',
        sessionName: 's2',
        chatJid: 'chatJ@s.whatsapp.net',
        timestamp: at('2026-03-11T08:20:00Z'),
      }),
    ); // stays pending
    // o9: the status event overtakes the created event (counted once, as delivered)
    const o9 = A({
      direction: 'out',
      sessionName: 's2',
      chatJid: 'chatK@s.whatsapp.net',
      timestamp: at('2026-03-11T09:00:00Z'),
    });
    await changed(o9, 'delivered');
    await created(o9);

    // ---- 2026-03-12: nothing. 2026-03-13, session s1 ----------------------------------------
    await created(
      A({
        direction: 'in',
        sessionName: 's1',
        chatJid: 'chatE@s.whatsapp.net',
        timestamp: at('2026-03-13T23:30:00Z'),
      }),
    ); // never answered
    await created(
      A({
        direction: 'in',
        sessionName: 's1',
        chatJid: 'chatF@s.whatsapp.net',
        timestamp: at('2026-03-13T20:00:00Z'),
        type: 'sticker',
      }),
    );
    await outgoing(
      A({
        direction: 'out',
        sessionName: 's1',
        chatJid: 'chatF@s.whatsapp.net',
        timestamp: at('2026-03-13T20:00:30Z'),
      }),
      ['sent'],
    ); // 30 000 ms

    // ---- organization B: same days and session names, must never leak into A -------------------
    const B = (over: Parameters<typeof msg>[1]) => msg(orgB, over);
    await created(
      B({
        direction: 'in',
        sessionName: 'b1',
        chatJid: 'x@s.whatsapp.net',
        timestamp: at('2026-03-10T09:00:00Z'),
      }),
    );
    await outgoing(
      B({
        direction: 'out',
        sessionName: 'b1',
        chatJid: 'x@s.whatsapp.net',
        timestamp: at('2026-03-10T09:00:05Z'),
      }),
      ['sent', 'delivered'],
    );
    await outgoing(
      B({
        direction: 'out',
        sessionName: 'b1',
        chatJid: 'y@s.whatsapp.net',
        timestamp: at('2026-03-11T10:00:00Z'),
      }),
      ['failed'],
      'Rate limited',
    );
  });

  afterAll(() => t?.close());

  const range = { since: '2026-03-10T00:00:00Z', until: '2026-03-14T00:00:00Z' };

  it('exact figures for the whole organization, daily, with the empty day filled', async () => {
    const res = await get(orgA, range).expect(200);
    expect(res.body.range).toEqual({
      since: '2026-03-10T00:00:00.000Z',
      until: '2026-03-14T00:00:00.000Z',
      granularity: 'day',
      sessionName: null,
    });
    expect(res.body.messages).toEqual({
      total: 17,
      sent: 10,
      received: 7,
      byStatus: { pending: 1, sent: 2, delivered: 1, read: 2, played: 1, failed: 3 },
      byType: {
        text: 11,
        image: 2,
        video: 0,
        audio: 0,
        voice: 1,
        document: 1,
        sticker: 1,
        location: 0,
        contact: 0,
        reaction: 1,
        poll: 0,
        revoke: 0,
        edit: 0,
        unknown: 0,
      },
      deliveryRate: 0.4444, // (delivered 1 + read 2 + played 1) / (10 - pending 1)
      readRate: 0.3333, // (read 2 + played 1) / 9
      topFailureReasons: [
        { reason: 'Session not connected', count: 2 },
        { reason: 'Invalid recipient', count: 1 },
      ],
    });
    expect(res.body.series).toEqual([
      { bucket: '2026-03-10T00:00:00.000Z', sent: 5, received: 2 },
      { bucket: '2026-03-11T00:00:00.000Z', sent: 4, received: 3 },
      { bucket: '2026-03-12T00:00:00.000Z', sent: 0, received: 0 },
      { bucket: '2026-03-13T00:00:00.000Z', sent: 1, received: 2 },
    ]);
    // samples 30 000, 2 100 000, 3 600 000, 3 600 000 → (2 100 000 + 3 600 000) / 2
    expect(res.body.responsiveness).toEqual({ medianFirstResponseMs: 2_850_000, samples: 4 });
    expect(res.body.contacts).toEqual({
      total: expect.any(Number),
      new: expect.any(Number),
      linkedToCustomers: expect.any(Number),
    });
    expect(new Date(res.body.generatedAt).getTime()).toBeGreaterThan(Date.now() - 60_000);
  });

  it('one session: only its counters', async () => {
    const res = await get(orgA, { ...range, sessionName: 's2' }).expect(200);
    expect(res.body.range.sessionName).toBe('s2');
    expect(res.body.messages).toMatchObject({
      total: 7,
      sent: 4,
      received: 3,
      byStatus: { pending: 1, sent: 1, delivered: 1, read: 0, played: 0, failed: 1 },
      deliveryRate: 0.3333,
      readRate: 0,
      topFailureReasons: [{ reason: 'Invalid recipient', count: 1 }],
    });
    expect(res.body.series.map((p: { sent: number }) => p.sent)).toEqual([0, 4, 0, 0]);
    expect(res.body.responsiveness).toEqual({ medianFirstResponseMs: 3_600_000, samples: 1 });
  });

  it('hourly buckets over part of a day', async () => {
    const res = await get(orgA, {
      since: '2026-03-10T09:00:00Z',
      until: '2026-03-10T13:00:00Z',
      granularity: 'hour',
    }).expect(200);
    expect(res.body.series).toEqual([
      { bucket: '2026-03-10T09:00:00.000Z', sent: 0, received: 2 },
      { bucket: '2026-03-10T10:00:00.000Z', sent: 2, received: 0 },
      { bucket: '2026-03-10T11:00:00.000Z', sent: 1, received: 0 },
      { bucket: '2026-03-10T12:00:00.000Z', sent: 2, received: 0 },
    ]);
    expect(res.body.messages).toMatchObject({
      sent: 5,
      received: 2,
      byStatus: { pending: 0, sent: 0, delivered: 0, read: 2, played: 1, failed: 2 },
    });
    expect(res.body.messages.topFailureReasons).toEqual([
      { reason: 'Session not connected', count: 2 },
    ]);
    expect(res.body.responsiveness).toEqual({ medianFirstResponseMs: 2_850_000, samples: 2 });
  });

  it('organizations are isolated', async () => {
    const res = await get(orgB, range).expect(200);
    expect(res.body.messages).toMatchObject({
      total: 3,
      sent: 2,
      received: 1,
      byStatus: { pending: 0, sent: 0, delivered: 1, read: 0, played: 0, failed: 1 },
      deliveryRate: 0.5,
      topFailureReasons: [{ reason: 'Rate limited', count: 1 }],
    });
    expect(res.body.responsiveness).toEqual({ medianFirstResponseMs: 5_000, samples: 1 });
    // A's session names are unknown to B: 404, not A's figures
    const foreign = await get(orgB, { ...range, sessionName: 's1' }).expect(404);
    expect(foreign.body).toMatchObject({
      statusCode: 404,
      code: 'SESSION_NOT_FOUND',
      requestId: expect.any(String),
    });
  });

  it('empty organization: all zeros and a full series of 30 daily buckets', async () => {
    const empty = await registerUser(t, { organizationName: 'Empty' });
    const res = await get(empty).expect(200);
    expect(res.body.sessions).toEqual({ total: 0, connected: 0, byStatus: {} });
    expect(res.body.messages).toEqual({
      total: 0,
      sent: 0,
      received: 0,
      byStatus: { pending: 0, sent: 0, delivered: 0, read: 0, played: 0, failed: 0 },
      byType: {
        text: 0,
        image: 0,
        video: 0,
        audio: 0,
        voice: 0,
        document: 0,
        sticker: 0,
        location: 0,
        contact: 0,
        reaction: 0,
        poll: 0,
        revoke: 0,
        edit: 0,
        unknown: 0,
      },
      deliveryRate: 0,
      readRate: 0,
      topFailureReasons: [],
    });
    expect(res.body.contacts).toEqual({ total: 0, new: 0, linkedToCustomers: 0 });
    expect(res.body.responsiveness).toEqual({ medianFirstResponseMs: null, samples: 0 });
    expect(res.body.series).toHaveLength(30);
    expect(
      res.body.series.every(
        (p: { sent: number; received: number }) => p.sent === 0 && p.received === 0,
      ),
    ).toBe(true);
    const today = new Date().toISOString().slice(0, 10);
    expect(res.body.series[29].bucket).toBe(`${today}T00:00:00.000Z`);
    const first = new Date(res.body.series[0].bucket);
    expect(new Date(res.body.series[29].bucket).getTime() - first.getTime()).toBe(29 * 86_400_000);
    expect(res.body.range.granularity).toBe('day');
  });

  it('counts the sessions of the organization', async () => {
    const created = await t
      .http()
      .post('/api/v1/whatsapp/sessions')
      .set(orgA.auth)
      .send({ sessionName: 's1' });
    expect(created.status).toBe(201);
    const res = await get(orgA, { ...range, sessionName: 's1' }).expect(200);
    expect(res.body.sessions.total).toBe(1);
    expect(
      Object.values(res.body.sessions.byStatus as Record<string, number>).reduce(
        (a, b) => a + b,
        0,
      ),
    ).toBe(1);
    expect(res.body.messages).toMatchObject({ sent: 6, received: 4 });
    const all = await get(orgA, range).expect(200);
    expect(all.body.sessions.total).toBe(1);
  });

  it('range validation answers 400 in the error shape', async () => {
    const reversed = await get(orgA, {
      since: '2026-03-10T00:00:00Z',
      until: '2026-03-01T00:00:00Z',
    }).expect(400);
    expect(reversed.body).toMatchObject({
      statusCode: 400,
      code: 'STATS_RANGE_INVALID',
      requestId: expect.any(String),
    });
    const tooLong = await get(orgA, {
      since: '2025-01-01T00:00:00Z',
      until: '2026-01-03T00:00:00Z',
    }).expect(400);
    expect(tooLong.body.code).toBe('STATS_RANGE_TOO_LARGE');
    await get(orgA, { since: '2025-01-01T00:00:00Z', until: '2026-01-02T00:00:00Z' }).expect(200); // exactly 366 days
    // 366 days from noon to noon touch 367 UTC days: too many daily buckets.
    const noonToNoon = await get(orgA, {
      since: '2025-12-05T12:00:00Z',
      until: '2026-12-06T12:00:00Z',
    }).expect(400);
    expect(noonToNoon.body.code).toBe('STATS_RANGE_TOO_LARGE');
    const widest = await get(orgA, {
      since: '2025-12-05T12:00:00Z',
      until: '2026-12-05T12:00:00Z',
    }).expect(200);
    expect(widest.body.series).toHaveLength(366);
    const hourly = await get(orgA, {
      since: '2026-01-01T00:00:00Z',
      until: '2026-02-15T00:00:00Z',
      granularity: 'hour',
    }).expect(400);
    expect(hourly.body.code).toBe('STATS_RANGE_TOO_LARGE');
    const bad = await get(orgA, { since: 'last-tuesday' }).expect(400);
    expect(bad.body).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { since: [expect.stringContaining('ISO 8601')] },
    });
    await get(orgA, { granularity: 'week' }).expect(400);
    await get(orgA, { until: '2026-03-10T10:00:00' }).expect(400); // no zone
    for (const since of ['2026-02-30', '2026-12-01T23:59:60Z']) {
      // Shaped like a date, but no instant: not 2026-03-02, not the next midnight.
      const noSuchInstant = await get(orgA, { since }).expect(400);
      expect(noSuchInstant.body).toMatchObject({
        code: 'VALIDATION_FAILED',
        details: { since: [expect.stringContaining('ISO 8601')] },
      });
    }
    await get(orgA, { foo: 'bar' }).expect(400);
    const unknown = await get(orgA, { sessionName: 'nope' }).expect(404);
    expect(unknown.body).toEqual({
      statusCode: 404,
      error: 'Not Found',
      code: 'SESSION_NOT_FOUND',
      message: 'WhatsApp session "nope" was not found',
      details: { sessionName: 'nope', sessionId: `${orgA.user.organizationId}_nope` },
      requestId: expect.any(String),
    });
    // The same error as the session routes answer for that name.
    const fromSessions = await t
      .http()
      .get('/api/v1/whatsapp/sessions/nope/status')
      .set(orgA.auth)
      .expect(404);
    expect({ ...fromSessions.body, requestId: '' }).toEqual({ ...unknown.body, requestId: '' });
    await t.http().get('/api/v1/whatsapp/stats').expect(401);
  });

  it('documents the route in OpenAPI', async () => {
    const spec = await t.http().get('/api/docs-json').expect(200);
    const op = spec.body.paths['/api/v1/whatsapp/stats'].get;
    expect(op.operationId).toBe('stats_get');
    expect(Object.keys(op.responses)).toEqual(
      expect.arrayContaining(['200', '400', '401', '403', '404']),
    );
  });
});

describe('response times over HTTP (e2e)', () => {
  let t: TestApp;
  let owner: RegisteredUser;

  beforeAll(async () => {
    // A send that cannot go out fails after a second (instead of a day).
    t = await createTestApp({ MESSAGE_PENDING_DEADLINE_SECONDS: '1' });
    owner = await registerUser(t);
    await connectedSession(t, owner, 'main');
  });
  afterAll(() => t.close());

  const inbound = (user: RegisteredUser, body: object) => sandboxInbound(t, user, 'main', body);
  const reply = (user: RegisteredUser, to: string, text: string) => sendText(t, user, to, text);
  /** The message once it has `status` (the outbox sends or fails it in the background). */
  const settled = (user: RegisteredUser, id: string, status: string) =>
    waitFor(
      async () => {
        const res = await t.http().get(`/api/v1/whatsapp/messages/${id}`).set(user.auth);
        return res.body.status === status ? res.body : undefined;
      },
      15_000,
      `message ${id} ${status}`,
    );
  /** A message of the chat with `text`, once stored (received, unless `direction` says). */
  const received = (user: RegisteredUser, chat: string, text: string, direction = 'in') =>
    waitFor(async () => {
      const page = await t
        .http()
        .get('/api/v1/whatsapp/messages')
        .query({ chat, direction, search: text })
        .set(user.auth);
      return page.body.items?.[0] as { timestamp: string } | undefined;
    });
  /** Over the default window: the last 30 days. */
  const responsiveness = async (user: RegisteredUser) =>
    (await t.http().get('/api/v1/whatsapp/stats').set(user.auth).expect(200)).body.responsiveness;
  /**
   * Waits for the response times to read `expected`: a sample can be counted before a reply
   * placed out of order moves it, so an intermediate count is not the answer.
   */
  const responsivenessBecomes = (user: RegisteredUser, expected: object) =>
    waitFor(
      async () => {
        expect(await responsiveness(user)).toEqual(expected);
        return true;
      },
      10_000,
      'the expected response times',
    );

  it('a reply that failed answers nothing: the reply that went out later does', async () => {
    const user = await registerUser(t, { organizationName: 'Failed reply' });
    await connectedSession(t, user, 'main');
    const peer = '+201555000501';
    await inbound(user, { from: peer, text: 'Anyone there?' });
    const asked = await received(user, peer, 'Anyone there?');
    await t
      .http()
      .post('/api/v1/whatsapp/sandbox/sessions/main/disconnect')
      .set(user.auth)
      .send({ reason: 'connectionReplaced' })
      .expect(202);
    await waitForSessionStatus(t, user, 'main', 'disconnected');
    const lost = await reply(user, peer, 'Yes, one moment');
    await settled(user, lost.id, 'failed');
    expect(await responsiveness(user)).toEqual({ samples: 0, medianFirstResponseMs: null });

    await t.http().post('/api/v1/whatsapp/sessions/main/restart').set(user.auth).expect(200);
    await waitForSessionStatus(t, user, 'main', 'connected');
    const real = await reply(user, peer, 'Sorry, we are here');
    await settled(user, real.id, 'sent');
    const stats = await waitFor(async () => {
      const r = await responsiveness(user);
      return r.samples ? r : undefined;
    });
    expect(stats).toEqual({
      samples: 1,
      medianFirstResponseMs: Date.parse(real.timestamp) - Date.parse(asked.timestamp),
    });
  });

  it.each([false, true])(
    'an older conversation arriving late (history sync: %s) leaves the live wait open',
    async (history) => {
      const user = await registerUser(t, { organizationName: `Late history ${history}` });
      await connectedSession(t, user, 'main');
      const peer = '+201555000502';
      const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString();
      await inbound(user, { from: peer, text: 'hi' });
      const hi = await received(user, peer, 'hi');
      // An offline queue (or the history sync after linking) brings an old question and the
      // answer given from the phone a day later.
      await inbound(user, { from: peer, text: 'old question', timestamp: daysAgo(5), history });
      const old = await received(user, peer, 'old question');
      await inbound(user, {
        from: peer,
        text: 'old answer',
        fromMe: true,
        timestamp: daysAgo(4),
        history,
      });
      const oldAnswer = await received(user, peer, 'old answer', 'out');
      // Whether the live reply is handled before or after the late answer was counted, each
      // takes its place by message time.
      const answer = await reply(user, peer, 'hello!');
      await settled(user, answer.id, 'sent');
      const liveMs = Date.parse(answer.timestamp) - Date.parse(hi.timestamp);
      const oldMs = Date.parse(oldAnswer.timestamp) - Date.parse(old.timestamp); // about a day
      // History sync takes no part: only the live wait is answered.
      await responsivenessBecomes(
        user,
        history
          ? { samples: 1, medianFirstResponseMs: liveMs }
          : { samples: 2, medianFirstResponseMs: Math.round((liveMs + oldMs) / 2) },
      );
    },
  );

  it('an older answer typed on the phone and ingested after the live reply takes its place in time', async () => {
    const user = await registerUser(t, { organizationName: 'Late phone answer' });
    await connectedSession(t, user, 'main');
    const peer = '+201555000503';
    const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString();
    await inbound(user, { from: peer, text: 'old question', timestamp: daysAgo(5) });
    const old = await received(user, peer, 'old question');
    await inbound(user, { from: peer, text: 'hi' });
    const hi = await received(user, peer, 'hi');
    const answer = await reply(user, peer, 'hello!');
    await settled(user, answer.id, 'sent');
    // The live reply answered the wait open since the old question: five days.
    await waitFor(async () => (await responsiveness(user)).samples === 1);
    await inbound(user, { from: peer, text: 'old answer', fromMe: true, timestamp: daysAgo(4) });
    const oldAnswer = await received(user, peer, 'old answer', 'out');
    const liveMs = Date.parse(answer.timestamp) - Date.parse(hi.timestamp);
    const oldMs = Date.parse(oldAnswer.timestamp) - Date.parse(old.timestamp);
    await responsivenessBecomes(user, {
      samples: 2,
      medianFirstResponseMs: Math.round((liveMs + oldMs) / 2),
    });
  });

  it('a reply to the phone a LID sender was revealed to have answers the LID chat', async () => {
    const user = await registerUser(t, { organizationName: 'LID reply' });
    await connectedSession(t, user, 'main');
    const lid = '55501234567890@lid';
    await inbound(user, { from: lid, pushName: 'L', text: 'hello from lid' });
    const asked = await received(user, lid, 'hello from lid');
    await t
      .http()
      .post('/api/v1/whatsapp/sandbox/sessions/main/lid-mapping')
      .set(user.auth)
      .send({ phone: '+201333333333', lid })
      .expect(202);
    // Recorded once the contact is keyed by the phone.
    await waitFor(async () => {
      const res = await t.http().get('/api/v1/whatsapp/contacts').set(user.auth);
      return res.body.items?.[0]?.phone === '201333333333' || undefined;
    });
    const answer = await reply(user, '+201333333333', 'reply to phone');
    await settled(user, answer.id, 'sent');
    const stats = await waitFor(async () => {
      const r = await responsiveness(user);
      return r.samples ? r : undefined;
    });
    expect(stats).toEqual({
      samples: 1,
      medianFirstResponseMs: Date.parse(answer.timestamp) - Date.parse(asked.timestamp),
    });
  });

  it('counts a reply that was stored before the message it answers', async () => {
    // A quick reply (a bot) can be accepted while the inbound message is still being written:
    // the reply is stored first, and the inbound message then arrives with an earlier time.
    const peer = '+201555000777';
    const reply = await t
      .http()
      .post('/api/v1/whatsapp/messages/send')
      .set(owner.auth)
      .send({ sessionName: 'main', to: peer, text: 'On it!' })
      .expect(202);
    const repliedAt = Date.parse(reply.body.timestamp);
    await t
      .http()
      .post('/api/v1/whatsapp/sandbox/sessions/main/inbound')
      .set(owner.auth)
      .send({ from: peer, text: 'Are you open?', timestamp: new Date(repliedAt - 3000) })
      .expect(202);
    const inbound = await waitFor(async () => {
      const page = await t
        .http()
        .get('/api/v1/whatsapp/messages')
        .query({ chat: peer, direction: 'in' })
        .set(owner.auth);
      return page.body.items?.[0];
    });
    const stats = await waitFor(async () => {
      const res = await t.http().get('/api/v1/whatsapp/stats').set(owner.auth);
      return res.body.responsiveness?.samples ? res.body : undefined;
    });
    expect(stats.responsiveness).toEqual({
      samples: 1,
      medianFirstResponseMs: repliedAt - Date.parse(inbound.timestamp),
    });
  });
});

describe('marked counter changes on the store', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('apply each marker once, also when a replay groups an applied change with a new one', async () => {
    const repository = t.app.get(StatsRepository);
    const at = new Date('2026-02-01T10:15:00Z');
    const change = (marker: string, n: number) => ({
      organizationId: 'marks-org',
      sessionName: 's',
      at,
      inc: { received: n },
      marker,
    });
    const received = async () =>
      (
        await t.app
          .get<string, Connection>(getConnectionToken())
          .collection('stats_buckets')
          .find({ organizationId: 'marks-org' })
          .toArray()
      ).map((b) => [b.granularity, b.received, b.applied]);

    await repository.applyMarked([change('note:a', 1)]);
    await repository.applyMarked([change('note:a', 1)]); // a replay before the release
    expect(await received()).toEqual([
      ['hour', 1, ['note:a']],
      ['day', 1, ['note:a']],
    ]);
    // A replay grouping the applied change with one that never was: only the new one counts.
    await repository.applyMarked([change('note:a', 1), change('note:b', 10)]);
    await repository.releaseMarkers([change('note:a', 1), change('note:b', 10)]);
    expect(await received()).toEqual([
      ['hour', 11, []],
      ['day', 11, []],
    ]);
  });
});
