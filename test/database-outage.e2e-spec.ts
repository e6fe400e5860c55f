import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { SandboxControl, SessionRegistry } from '@app/whatsapp';
import {
  MESSAGING_EVENTS,
  type MessageStatusChangedEvent,
} from '../apps/api/src/messaging/messaging.events';
import { EmbeddedMongoServer } from '@app/embedded-mongo';
import { outageProxy } from './support/outage-proxy';
import { connectedSession, sendText, waitForSessionStatus } from './support/sandbox';
import { createTestApp, registerUser } from './support/test-app';
import { waitFor } from './support/wait';

/** Longer than the driver and mongoose wait for a server before failing an operation (10 s). */
const OUTAGE_MS = 13_000;
/**
 * The driver's heartbeat (MONGODB_URI's heartbeatFrequencyMS; 10 s by default): how soon it
 * notices the database went and came back. Shorter here, so the tests wait less for it.
 */
const HEARTBEAT_MS = 1_000;

// The engine hands messages and receipts over once (Baileys has acknowledged them to WhatsApp):
// a database that is away for longer than an operation waits for it must not lose them.
describe('a database outage', () => {
  it('keeps the messages, receipts and contacts that arrive during it, answers 503 meanwhile, and reconnects a session that dropped during it', async () => {
    const store = await EmbeddedMongoServer.start({ port: 0 });
    const proxy = await outageProxy(store.port);
    const t = await createTestApp({
      MONGODB_URI: `mongodb://127.0.0.1:${proxy.port}/wa_outage?directConnection=true&heartbeatFrequencyMS=${HEARTBEAT_MS}`,
    });
    try {
      const owner = await registerUser(t);
      await connectedSession(t, owner);
      const sessionId = `${owner.organization.id}_main`;
      const changes: string[] = [];
      t.app
        .get(EventEmitter2)
        .on(MESSAGING_EVENTS.statusChanged, (e: MessageStatusChangedEvent) => {
          if (e.message.text === 'before the outage') changes.push(e.status);
        });

      const sent = await sendText(t, owner, '+201009990001', 'before the outage');
      const waMessageId = await waitFor(async () => {
        const res = await t.http().get(`/api/v1/whatsapp/messages/${sent.id}`).set(owner.auth);
        return res.body.status === 'sent' ? (res.body.waMessageId as string) : undefined;
      });

      await proxy.cut();
      const sandbox = t.app.get(SandboxControl);
      for (const text of ['one', 'two', 'three'])
        sandbox.inbound(sessionId, { from: '201009990002', pushName: 'Mona', text });
      // The recipient's devices, over and over (held folded: one write per status, in order).
      sandbox.receipt(sessionId, waMessageId, 'delivered');
      for (let i = 0; i < 50; i++)
        sandbox.receipt(sessionId, waMessageId, i % 2 ? 'delivered' : 'read');
      // The address book, renamed over and over (held folded per contact, the latest name kept).
      for (let i = 0; i < 20; i++)
        sandbox.pushContact(sessionId, { phone: '201009990003', name: `Omar ${i}` });
      sandbox.pushContact(sessionId, { phone: '201009990003', name: 'Omar Address Book' });
      const cutAt = Date.now();
      // WhatsApp's connection drops too (the same network blip): the session must come back.
      await sandbox.disconnect(sessionId, 'connectionLost');
      const health = await t.http().get('/health');
      expect(health.status).toBe(503);
      const during = await t
        .http()
        .post('/api/v1/whatsapp/messages/send')
        .set(owner.auth)
        .send({ sessionName: 'main', to: '+201009990004', text: 'during the outage' });
      expect(during.status).toBe(503);
      expect(during.body.code).toBe('DATABASE_UNAVAILABLE');
      await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - cutAt))));
      await proxy.restore();

      const inbound = await waitFor(
        async () => {
          const res = await t.http().get('/api/v1/whatsapp/messages?direction=in').set(owner.auth);
          return res.status === 200 && res.body.total === 3 ? res.body.items : undefined;
        },
        30_000,
        'the three messages received during the outage',
      );
      expect(inbound.map((m: { text: string }) => m.text).sort()).toEqual(['one', 'three', 'two']);
      await waitFor(
        async () => {
          const res = await t.http().get(`/api/v1/whatsapp/messages/${sent.id}`).set(owner.auth);
          return res.body.status === 'read';
        },
        30_000,
        'the read receipt of the outage',
      );
      const read = (await t.http().get(`/api/v1/whatsapp/messages/${sent.id}`).set(owner.auth))
        .body;
      // Each status once, in order (the send's own 'sent' aside).
      expect(changes.filter((status) => status !== 'sent')).toEqual(['delivered', 'read']);
      expect(new Date(read.deliveredAt).getTime()).toBeLessThanOrEqual(
        new Date(read.readAt).getTime(),
      );
      await waitFor(
        async () => {
          const res = await t.http().get('/api/v1/whatsapp/contacts?search=Omar').set(owner.auth);
          return res.body.items?.[0]?.addressBookName === 'Omar Address Book';
        },
        30_000,
        'the contact the address book brought during the outage',
      );
      await waitForSessionStatus(t, owner, 'main', 'connected', 30_000);
      const after = await sendText(t, owner, '+201009990004', 'after the outage');
      await waitFor(
        async () => {
          const res = await t.http().get(`/api/v1/whatsapp/messages/${after.id}`).set(owner.auth);
          return res.body.status === 'sent';
        },
        30_000,
        'a send after the outage',
      );
      expect((await t.http().get('/health')).status).toBe(200);
      // The counters count each message once: the refused send not, the retried writes not twice.
      await waitFor(
        async () => {
          const res = await t.http().get('/api/v1/whatsapp/stats').set(owner.auth);
          const { sent, received } = res.body.messages ?? {};
          return sent === 2 && received === 3;
        },
        10_000,
        'the stats to count 2 sent and 3 received',
      );
    } finally {
      await t.close();
      await proxy.close();
      await store.close();
    }
  }, 180_000);

  // Each component used to wait out server selection (10 s) in turn: the event outbox's appends,
  // then the registry's status write, lease release and auth flush, one after the other (~38 s).
  it('a shutdown during it ends within seconds, and the session it could not record comes back with the database', async () => {
    const store = await EmbeddedMongoServer.start({ port: 0 });
    const proxy = await outageProxy(store.port);
    // The restart comes back under the same name: it holds the leases the shutdown could not release.
    const env = {
      MONGODB_URI: `mongodb://127.0.0.1:${proxy.port}/wa_outage_shutdown?directConnection=true&heartbeatFrequencyMS=${HEARTBEAT_MS}`,
      INSTANCE_ID: 'outage-shutdown',
    };
    const dataDir = mkdtempSync(join(tmpdir(), 'wagw-outage-'));
    let t = await createTestApp(env, dataDir);
    try {
      const owner = await registerUser(t);
      await connectedSession(t, owner);
      const sessionId = `${owner.organization.id}_main`;
      const sent = await sendText(t, owner, '+201009990001', 'before the outage');
      await waitFor(async () => {
        const res = await t.http().get(`/api/v1/whatsapp/messages/${sent.id}`).set(owner.auth);
        return res.body.status === 'sent';
      });

      await proxy.cut();
      const sandbox = t.app.get(SandboxControl);
      sandbox.inbound(sessionId, { from: '201009990002', pushName: 'Mona', text: 'during' });
      sandbox.pushContact(sessionId, { phone: '201009990003', name: 'Omar Address Book' });
      await sandbox.disconnect(sessionId, 'connectionLost');
      const stopping = Date.now();
      // Raced: a shutdown that never ends (an operation left waiting for good) fails here, not at
      // the test's timeout.
      const ended = await Promise.race([
        t.close().then(() => true),
        new Promise<false>((resolve) => setTimeout(() => resolve(false), 30_000).unref()),
      ]);
      expect(ended, 'the shutdown ended').toBe(true);
      expect(Date.now() - stopping).toBeLessThan(15_000);

      await proxy.restore();
      t = await createTestApp(env, dataDir);
      await waitForSessionStatus(t, owner, 'main', 'connected', 30_000);
      const after = await sendText(t, owner, '+201009990004', 'after the outage');
      await waitFor(
        async () => {
          const res = await t.http().get(`/api/v1/whatsapp/messages/${after.id}`).set(owner.auth);
          return res.body.status === 'sent';
        },
        30_000,
        'a send after the restart',
      );
    } finally {
      await t.close();
      await proxy.close();
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 180_000);

  it('keeps every message of a warm chat whose connection drops while the database is away, round after round', async () => {
    const store = await EmbeddedMongoServer.start({ port: 0 });
    const proxy = await outageProxy(store.port);
    const t = await createTestApp({
      MONGODB_URI: `mongodb://127.0.0.1:${proxy.port}/wa_outage_warm?directConnection=true&heartbeatFrequencyMS=${HEARTBEAT_MS}`,
    });
    try {
      const owner = await registerUser(t);
      await connectedSession(t, owner);
      const sessionId = `${owner.organization.id}_main`;
      const sandbox = t.app.get(SandboxControl);
      const registry = t.app.get(SessionRegistry);
      const received = async () => {
        const res = await t.http().get('/api/v1/whatsapp/messages?direction=in').set(owner.auth);
        return res.status === 200 ? res.body.items.map((m: { text: string }) => m.text) : [];
      };
      // A warm chat: the Signal session with the contact is cached, so Baileys decrypts the
      // messages below without the database; only its key writes wait for it.
      sandbox.inbound(sessionId, { from: '201009990002', pushName: 'Mona', text: 'warm' });
      await waitFor(async () => (await received()).includes('warm'), 10_000, 'the first message');

      // Two rounds: before the fix the message was lost in round 1 or 2 (3 runs of 4 rounds).
      const rounds = 2;
      for (let round = 1; round <= rounds; round++) {
        await waitFor(async () => registry.isConnected(sessionId), 30_000, 'the session open');
        await proxy.cut();
        const texts = ['one', 'two', 'three'].map((text) => `${text} (round ${round})`);
        for (const text of texts)
          sandbox.inbound(sessionId, { from: '201009990002', pushName: 'Mona', text });
        // Long enough for the first to be decrypted, its key write held by the outage.
        await new Promise((r) => setTimeout(r, 1_000));
        await sandbox.disconnect(sessionId, 'connectionLost');
        await proxy.restore();
        const stored = await waitFor(
          async () => {
            const all = await received();
            return texts.every((text) => all.includes(text)) ? all : undefined;
          },
          30_000,
          `the messages of round ${round}`,
        );
        expect(stored).toHaveLength(1 + 3 * round);
      }
    } finally {
      await t.close();
      await proxy.close();
      await store.close();
    }
  }, 240_000);
});
