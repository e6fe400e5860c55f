import { getConnectionToken } from '@nestjs/mongoose';
import { SandboxControl } from '@app/whatsapp';
import type { Connection } from 'mongoose';
import { MONGO_TARGET, type MongoTarget } from '../apps/api/src/database/database.module';
import { connectedSession } from './support/sandbox';
import { createTestApp, registerUser, type RegisteredUser, type TestApp } from './support/test-app';
import { waitFor } from './support/wait';

/**
 * Two gateway instances on one database, behind a load balancer that may send any request to
 * either: the session runs on the instance holding its lease (A), and what B accepts for it is
 * carried out by A through the database.
 */
describe('two instances sharing one database', () => {
  let a: TestApp;
  let b: TestApp;
  let owner: RegisteredUser;
  const PEER = '+201555000777';
  const PEER_JID = '201555000777@s.whatsapp.net';
  const sessionId = () => `${owner.organization.id}_held-by-a`;

  beforeAll(async () => {
    a = await createTestApp();
    b = await createTestApp({ MONGODB_URI: a.app.get<symbol, MongoTarget>(MONGO_TARGET).uri });
    owner = await registerUser(a);
    await connectedSession(a, owner, 'held-by-a');
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('a send accepted by B is sent by A', async () => {
    const accepted = await b
      .http()
      .post('/api/v1/whatsapp/messages/send')
      .set(owner.auth)
      .send({ sessionName: 'held-by-a', to: PEER, text: 'via b' })
      .expect(202);
    await waitFor(
      async () =>
        (await b.http().get(`/api/v1/whatsapp/messages/${accepted.body.id}`).set(owner.auth)).body
          .status === 'sent',
      10_000,
      'sent by A',
    );
  });

  it('a chat marked read on B has its read receipts sent by A', async () => {
    const waMessageId = (
      await a
        .http()
        .post('/api/v1/whatsapp/sandbox/sessions/held-by-a/inbound')
        .set(owner.auth)
        .send({ from: PEER, text: 'read me' })
        .expect(202)
    ).body.waMessageId;
    await waitFor(
      async () =>
        (await b.http().get('/api/v1/whatsapp/chats').set(owner.auth)).body.items.some(
          (c: { chatJid: string; unreadCount: number }) =>
            c.chatJid === PEER_JID && c.unreadCount > 0,
        ),
      10_000,
      'the chat, unread',
    );
    const read = await b
      .http()
      .post('/api/v1/whatsapp/chats/read')
      .set(owner.auth)
      .send({ sessionName: 'held-by-a', chat: PEER })
      .expect(200);
    expect(read.body).toMatchObject({ chat: { unreadCount: 0 } });
    expect(read.body.marked).toBeGreaterThan(0);
    await waitFor(
      async () => a.app.get(SandboxControl).readReceipts(sessionId()).includes(waMessageId),
      10_000,
      "A's sweep to send the receipt",
    );
  });

  it('a contacts sync asked of B is run by A on its next lease round', async () => {
    const addressBook = async () =>
      (
        await b
          .http()
          .get('/api/v1/whatsapp/contacts')
          .query({ search: '201555000888' })
          .set(owner.auth)
          .expect(200)
      ).body.items as Array<{ addressBookName: string | null }>;
    await a
      .http()
      .post('/api/v1/whatsapp/sandbox/sessions/held-by-a/contacts')
      .set(owner.auth)
      .send({ phone: '+201555000888', name: 'Synced Via A' })
      .expect(202);
    await waitFor(async () => (await addressBook()).length === 1, 10_000, 'the contact');
    await a.app.get<Connection>(getConnectionToken()).collection('contacts').deleteMany({});

    await b
      .http()
      .post('/api/v1/whatsapp/contacts/sync')
      .set(owner.auth)
      .send({ sessionName: 'held-by-a' })
      .expect(202);
    // A renews its leases every 10 s (a third of the 30 s TTL) and takes the request then.
    await waitFor(
      async () => (await addressBook())[0]?.addressBookName === 'Synced Via A',
      15_000,
      'the contact re-read by A',
    );
  });
});
