import type mongoose from 'mongoose';
import { useEmbeddedConnection } from '@app/embedded-mongo/testing/embedded-connection';
import { MessagesRepository, newMessageId, type NewMessage } from './messages.repository';
import { Message, MessageSchema } from './schemas/message.schema';

const ME = 'gw-0';
const OTHER = 'gw-1';
const CLAIM_MS = 60_000;

describe('MessagesRepository outbox claims (embedded store)', () => {
  let connection: mongoose.Connection;
  let messages: MessagesRepository;

  const connectionOf = useEmbeddedConnection('outbox-claims');
  beforeAll(async () => {
    connection = connectionOf();
    const model = connection.model(Message.name, MessageSchema);
    await model.init(); // the indexes, partial claim index included
    messages = new MessagesRepository(model);
  });
  afterEach(() => connection.collection('messages').deleteMany({}));

  const pending = async (chatJid = '201001234567@s.whatsapp.net') => {
    const now = new Date();
    const message: NewMessage & { _id: string } = {
      _id: newMessageId(),
      organizationId: 'org',
      sessionId: 'org_main',
      sessionName: 'main',
      direction: 'out',
      chatJid,
      fromMe: true,
      type: 'text',
      text: 'hi',
      status: 'pending',
      attempts: 0,
      nextAttemptAt: now,
      timestamp: now,
    };
    const [stored] = await messages.insertAll([message]);
    return (stored as { _id: string })._id;
  };
  const read = (id: string) => connection.collection('messages').findOne({ _id: id as never });

  it('stores a redelivered message once: the copy, dated by its own later arrival, changes nothing', async () => {
    const received = (timestamp: Date): NewMessage & { _id: string } => ({
      _id: newMessageId(), // each copy its own id, as each delivery gets on arrival
      organizationId: 'org',
      sessionId: 'org_main',
      sessionName: 'main',
      direction: 'in',
      chatJid: '201001234567@s.whatsapp.net',
      fromMe: false,
      waMessageId: 'WA1',
      type: 'text',
      text: 'Answer!',
      status: 'delivered',
      timestamp,
    });
    const [first] = await messages.insertManyOnce([received(new Date('2026-01-05T10:00:35.420Z'))]);
    expect(await messages.insertManyOnce([received(new Date('2026-01-05T10:00:35.999Z'))])).toEqual(
      [],
    );
    expect(await messages.insertOnce(received(new Date('2026-01-05T10:00:35.999Z')))).toMatchObject(
      { created: false, record: { _id: first._id } },
    );
    const rows = await connection.collection('messages').find({ waMessageId: 'WA1' }).toArray();
    expect(rows.map((r) => r.timestamp)).toEqual([new Date('2026-01-05T10:00:35.420Z')]);
  });

  it('claims in the name of an instance; a restart under that name releases only its own claims', async () => {
    const mine = await pending();
    const theirs = await pending('201009999999@s.whatsapp.net');
    const claimedAt = new Date();
    expect(await messages.claim(mine, claimedAt, CLAIM_MS, ME)).toMatchObject({
      attempts: 1,
      claimedBy: ME,
    });
    await messages.claim(theirs, claimedAt, CLAIM_MS, OTHER);
    // Claimed: not due, and its chat waits behind it.
    expect(await messages.duePending('org_main', new Date(), 10)).toEqual([]);

    const boot = new Date();
    expect(await messages.releaseClaimsOf(ME, boot)).toBe(1);
    expect(await read(mine)).toMatchObject({ status: 'pending', attempts: 1, nextAttemptAt: boot });
    expect((await read(mine))?.claimedBy).toBeUndefined();
    // Another instance's claim runs its course (it may be sending right now).
    expect(await read(theirs)).toMatchObject({
      claimedBy: OTHER,
      nextAttemptAt: new Date(claimedAt.getTime() + CLAIM_MS),
    });
    expect((await messages.duePending('org_main', boot, 10)).map((m) => m._id)).toEqual([mine]);
    expect(await messages.releaseClaimsOf(ME, new Date())).toBe(0);
  });

  it('ends the claim with the attempt: a retry keeps its backoff, a sent or failed message is no claim', async () => {
    const retried = await pending();
    const sent = await pending();
    const failed = await pending();
    const now = new Date();
    for (const id of [retried, sent, failed]) await messages.claim(id, now, CLAIM_MS, ME);
    const retryAt = new Date(now.getTime() + 30_000);
    await messages.scheduleRetry(retried, retryAt, 'refused');
    await messages.markSent(sent, 'org_main', 'WA-SENT', new Date());
    await messages.advanceStatus({ _id: failed }, 'failed', new Date(), { error: 'gave up' });

    expect(await messages.releaseClaimsOf(ME, new Date())).toBe(0);
    expect(await read(retried)).toMatchObject({ status: 'pending', nextAttemptAt: retryAt });
    for (const id of [retried, sent, failed]) expect((await read(id))?.claimedBy).toBeUndefined();
    expect(
      await connection.collection('messages').countDocuments({ claimedBy: { $exists: true } }),
    ).toBe(0);
  });
});
