import {
  connectedSession,
  sandboxInbound,
  sendText,
  waitForSessionStatus,
} from './support/sandbox';
import { createTestApp, registerUser, type RegisteredUser, type TestApp } from './support/test-app';
import { waitFor } from './support/wait';

/**
 * The stats route's response times over HTTP with the sandbox engine: bursts of inbound messages
 * and replies of one chat handled concurrently, several sessions, window and granularity edges,
 * deleted sessions. What the route answers is compared with the samples the stored messages' own
 * times give (see stats-waits.property.spec.ts for the rule).
 */
describe('GET /api/v1/whatsapp/stats responsiveness (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const inbound = (user: RegisteredUser, session: string, body: object) =>
    sandboxInbound(t, user, session, body);
  const send = (user: RegisteredUser, to: string, text: string) => sendText(t, user, to, text);
  /** A send once the outbox got it out. */
  const settledSent = (user: RegisteredUser, id: string) =>
    waitFor(
      async () => {
        const res = await t.http().get(`/api/v1/whatsapp/messages/${id}`).set(user.auth);
        return res.body.status === 'sent';
      },
      15_000,
      `message ${id} sent`,
    );
  const stats = async (user: RegisteredUser, query: Record<string, string> = {}) =>
    (await t.http().get('/api/v1/whatsapp/stats').query(query).set(user.auth).expect(200)).body;

  interface Listed {
    direction: 'in' | 'out';
    status: string;
    type: string;
    history?: boolean;
    timestamp: string;
  }
  /** Every stored message of a chat, through the messages route. */
  async function chatMessages(user: RegisteredUser, chat: string): Promise<Listed[]> {
    const res = await t
      .http()
      .get('/api/v1/whatsapp/messages')
      .query({ chat, limit: '100' })
      .set(user.auth)
      .expect(200);
    return res.body.items as Listed[];
  }
  /** The response times a chat's messages give by their times (inbound first within a millisecond). */
  function referenceSamples(messages: Listed[]): number[] {
    const live = messages
      .filter(
        (m) =>
          !m.history &&
          !['reaction', 'edit', 'revoke'].includes(m.type) &&
          (m.direction === 'in' || ['sent', 'delivered', 'read', 'played'].includes(m.status)),
      )
      .map((m) => ({ in: m.direction === 'in', at: Date.parse(m.timestamp) }))
      .sort((a, b) => a.at - b.at || Number(b.in) - Number(a.in));
    const samples: number[] = [];
    let since: number | undefined;
    for (const m of live) {
      if (m.in) since ??= m.at;
      else if (since !== undefined) {
        samples.push(m.at - since);
        since = undefined;
      }
    }
    return samples;
  }
  /**
   * Resolves once the effects of everything the session ingested so far ran. A session's ingest
   * effects run in order, a group of stored batches at a time (its listeners count the whole
   * group before they look at response times): once a first message of another chat is counted,
   * its group is in hand, and a second one, counted, comes from a later group.
   */
  let sentinels = 0;
  async function drained(user: RegisteredUser, session: string) {
    const received = async () => (await stats(user)).messages.received as number;
    for (let i = 0; i < 2; i++) {
      const before = await received();
      sentinels += 1;
      await inbound(user, session, { from: '+201555000999', text: `sentinel ${sentinels}` });
      await waitFor(async () => (await received()) > before, 10_000, 'the ingest effects to run');
    }
  }
  const median = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    if (!sorted.length) return null;
    return sorted.length % 2 ? sorted[mid] : Math.round((sorted[mid - 1] + sorted[mid]) / 2);
  };

  it('bursts of inbound messages and replies of one chat handled at once: samples follow message times', async () => {
    const user = await registerUser(t, { organizationName: 'Burst' });
    await connectedSession(t, user, 'main');
    const peers = ['+201555000601', '+201555000602'];
    const sent: string[] = [];
    for (let round = 0; round < 3; round++) {
      // Per chat, three questions and two answers race each other through ingest and the outbox.
      const results = await Promise.all(
        peers.flatMap((peer) => [
          inbound(user, 'main', { from: peer, text: `q${round}a` }),
          send(user, peer, `a${round}a`),
          inbound(user, 'main', { from: peer, text: `q${round}b` }),
          send(user, peer, `a${round}b`),
          inbound(user, 'main', { from: peer, text: `q${round}c` }),
        ]),
      );
      for (const r of results) if ('id' in r) sent.push(r.id);
    }
    // Everything stored, every reply out.
    await waitFor(
      async () => {
        const all = (await Promise.all(peers.map((p) => chatMessages(user, p)))).flat();
        return (
          all.filter((m) => m.direction === 'in').length === 18 &&
          all.filter((m) => m.direction === 'out' && m.status === 'sent').length === sent.length
        );
      },
      20_000,
      'the burst stored and sent',
    );
    const expected = (await Promise.all(peers.map((p) => chatMessages(user, p)))).flatMap(
      referenceSamples,
    );
    expect(expected.length).toBeGreaterThan(0);
    const answered = await waitFor(
      async () => {
        const r = (await stats(user)).responsiveness;
        return r.samples === expected.length ? r : undefined;
      },
      10_000,
      `${expected.length} samples`,
    );
    expect(answered).toEqual({ samples: expected.length, medianFirstResponseMs: median(expected) });
  });

  it('an album typed on the phone and ingested after a later reply holds one sample', async () => {
    const user = await registerUser(t, { organizationName: 'Album' });
    await connectedSession(t, user, 'main');
    const peer = '+201555000611';
    const now = Math.floor(Date.now() / 1000) * 1000;
    const iso = (ms: number) => new Date(ms).toISOString();
    await inbound(user, 'main', { from: peer, text: 'photos?', timestamp: iso(now - 60_000) });
    await waitFor(async () => (await chatMessages(user, peer)).length === 1);
    const live = await send(user, peer, 'one moment');
    await waitFor(async () => (await stats(user)).responsiveness.samples === 1);
    await settledSent(user, live.id);
    // Two photos sent from the phone in the same second, 30 s after the question, ingested late.
    for (const text of ['photo 1', 'photo 2'])
      await inbound(user, 'main', { from: peer, text, fromMe: true, timestamp: iso(now - 30_000) });
    await drained(user, 'main');
    const messages = await chatMessages(user, peer);
    expect(messages).toHaveLength(4);
    expect(referenceSamples(messages)).toEqual([30_000]);
    expect((await stats(user)).responsiveness).toEqual({
      samples: 1,
      medianFirstResponseMs: 30_000,
    });
  });

  it('questions of an offline queue ingested after their answers: each answer holds its own sample', async () => {
    const user = await registerUser(t, { organizationName: 'Offline queue' });
    await connectedSession(t, user, 'main');
    const peer = '+201555000612';
    const now = Math.floor(Date.now() / 1000) * 1000;
    const iso = (ms: number) => new Date(ms).toISOString();
    // Answered on the phone at -50 s and -20 s; the questions (-60 s, -40 s) come later, together
    // (one ingest batch when the store stage takes them at once).
    for (const at of [50_000, 20_000])
      await inbound(user, 'main', {
        from: peer,
        text: `answer ${at}`,
        fromMe: true,
        timestamp: iso(now - at),
      });
    await Promise.all(
      [60_000, 40_000].map((at) =>
        inbound(user, 'main', { from: peer, text: `question ${at}`, timestamp: iso(now - at) }),
      ),
    );
    await drained(user, 'main');
    const messages = await chatMessages(user, peer);
    expect(messages).toHaveLength(4);
    expect(referenceSamples(messages)).toEqual([10_000, 20_000]);
    expect((await stats(user)).responsiveness).toEqual({
      samples: 2,
      medianFirstResponseMs: 15_000,
    });
  });

  describe('several sessions, windows and granularities, deleted sessions', () => {
    let user: RegisteredUser;
    // Day D: three days ago, 00:00Z.
    const D = Math.floor(Date.now() / 86_400_000) * 86_400_000 - 3 * 86_400_000;
    const iso = (ms: number) => new Date(ms).toISOString();
    const H = 3_600_000;
    /** A question and the answer typed on the phone, at exact times (an offline queue). */
    async function conversation(
      session: string,
      peer: string,
      askedAt: number,
      answeredAt: number,
    ) {
      await inbound(user, session, { from: peer, text: `q ${peer}`, timestamp: iso(askedAt) });
      await inbound(user, session, {
        from: peer,
        text: `a ${peer}`,
        fromMe: true,
        timestamp: iso(answeredAt),
      });
    }

    beforeAll(async () => {
      user = await registerUser(t, { organizationName: 'Windows' });
      await connectedSession(t, user, 's1', '+201001230001');
      await connectedSession(t, user, 's2', '+201001230002');
      // s1: asked 10:59:59 (hour 10), answered in hour 11 after 30 s.
      await conversation('s1', '+201555000701', D + 11 * H - 1000, D + 11 * H + 29_000);
      // s1: asked 11:00:00 exactly, answered after 2 min.
      await conversation('s1', '+201555000702', D + 11 * H, D + 11 * H + 120_000);
      // s2: asked 11:30, answered after an hour.
      await conversation('s2', '+201555000703', D + 11.5 * H, D + 12.5 * H);
      // s2: asked the day before at 23:59:59, answered after 10 s (past midnight).
      await conversation('s2', '+201555000704', D - 1000, D + 9000);
      await waitFor(
        async () => (await stats(user, { since: iso(D - H) })).responsiveness.samples === 4,
        10_000,
        'four samples',
      );
    });

    it('the organization and each session: samples by inbound time, exact medians', async () => {
      const since = iso(D - 86_400_000);
      const until = iso(D + 86_400_000);
      expect((await stats(user, { since, until })).responsiveness).toEqual({
        samples: 4,
        medianFirstResponseMs: (30_000 + 120_000) / 2,
      });
      expect((await stats(user, { since, until, sessionName: 's1' })).responsiveness).toEqual({
        samples: 2,
        medianFirstResponseMs: (30_000 + 120_000) / 2,
      });
      expect((await stats(user, { since, until, sessionName: 's2' })).responsiveness).toEqual({
        samples: 2,
        medianFirstResponseMs: (10_000 + 3_600_000) / 2,
      });
    });

    it('a window holds the waits that began in it, wherever the answer fell', async () => {
      // Day D: the wait of 23:59:59 the day before is out, although answered on D.
      expect(
        (await stats(user, { since: iso(D), until: iso(D + 86_400_000) })).responsiveness,
      ).toEqual({ samples: 3, medianFirstResponseMs: 120_000 });
      // Hour 11 (granularity hour): 11:00:00 and 11:30, not 10:59:59 answered at 11:00:29.
      expect(
        (
          await stats(user, {
            since: iso(D + 11 * H),
            until: iso(D + 12 * H),
            granularity: 'hour',
          })
        ).responsiveness,
      ).toEqual({ samples: 2, medianFirstResponseMs: (120_000 + 3_600_000) / 2 });
      // A window inside hour 11 is widened to the whole hour.
      expect(
        (
          await stats(user, {
            since: iso(D + 11 * H + 1),
            until: iso(D + 11 * H + 2),
            granularity: 'hour',
          })
        ).responsiveness,
      ).toEqual({ samples: 2, medianFirstResponseMs: (120_000 + 3_600_000) / 2 });
      // Hour 10 only: the wait of 10:59:59.
      expect(
        (
          await stats(user, {
            since: iso(D + 10 * H),
            until: iso(D + 11 * H),
            granularity: 'hour',
          })
        ).responsiveness,
      ).toEqual({ samples: 1, medianFirstResponseMs: 30_000 });
      // An empty window.
      expect(
        (await stats(user, { since: iso(D + 11 * H), until: iso(D + 11 * H) })).responsiveness,
      ).toEqual({ samples: 0, medianFirstResponseMs: null });
    });

    it("a deleted session's response times stay readable, by name and in the organization's", async () => {
      await t.http().delete('/api/v1/whatsapp/sessions/s2').set(user.auth).expect(204);
      const since = iso(D - 86_400_000);
      const until = iso(D + 86_400_000);
      expect((await stats(user, { since, until, sessionName: 's2' })).responsiveness).toEqual({
        samples: 2,
        medianFirstResponseMs: (10_000 + 3_600_000) / 2,
      });
      expect((await stats(user, { since, until })).responsiveness.samples).toBe(4);
      await waitForSessionStatus(t, user, 's1', 'connected');
    });
  });
});
