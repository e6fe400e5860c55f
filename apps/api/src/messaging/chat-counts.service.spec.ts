import type mongoose from 'mongoose';
import { useEmbeddedConnection } from '@app/embedded-mongo/testing/embedded-connection';
import { ChatCountsService } from './chat-counts.service';
import { ChatsRepository } from './chats.repository';
import type { MessageRecord } from './message.types';
import { MessagesRepository, newMessageId, type NewMessage } from './messages.repository';
import { Chat, ChatSchema } from './schemas/chat.schema';
import { Message, MessageSchema } from './schemas/message.schema';

const CHAT = '201001234567@s.whatsapp.net';
const SCOPE = { organizationId: 'org', sessionName: 'main', chatJid: CHAT };
const T0 = Date.parse('2026-01-05T10:00:00Z');

/** Every order of `items`. */
function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}

describe('ChatCountsService: unread = received after our latest message, in any order (embedded store)', () => {
  let connection: mongoose.Connection;
  let messages: MessagesRepository;
  let chats: ChatsRepository;
  let counts: ChatCountsService;

  const connectionOf = useEmbeddedConnection('chat-counts');
  beforeAll(async () => {
    connection = connectionOf();
    const messageModel = connection.model(Message.name, MessageSchema);
    const chatModel = connection.model(Chat.name, ChatSchema);
    await Promise.all([messageModel.init(), chatModel.init()]);
    messages = new MessagesRepository(messageModel);
    chats = new ChatsRepository(chatModel);
    counts = new ChatCountsService(chats, messages);
  });
  afterEach(async () => {
    await connection.collection('messages').deleteMany({});
    await connection.collection('chats').deleteMany({});
  });

  /** A message of the chat at second `s` of WhatsApp time, stored now (ids grow in store order). */
  const message = (direction: 'in' | 'out', s: number): NewMessage & { _id: string } => ({
    _id: newMessageId(),
    organizationId: 'org',
    sessionId: 'org_main',
    sessionName: 'main',
    direction,
    chatJid: CHAT,
    fromMe: direction === 'out',
    type: 'text',
    text: `${direction} ${s}`,
    // Our replies here went out (as a phone's do); the pending and failed ones are tested below.
    status: direction === 'in' ? 'delivered' : 'sent',
    timestamp: new Date(T0 + s * 1000),
  });
  /** Stores a batch, as the ingest or the send does before the batch's effects run. */
  const store = async (batch: Array<NewMessage & { _id: string }>) =>
    (await messages.insertAll(batch)) as MessageRecord[];
  const chat = async () => (await chats.findOfSession('org_main', CHAT))!;

  it('counts what came after our latest message, whatever order the batches are counted in', async () => {
    // in 1, in 2 | our reply at 3 | in 4 | our reply at 5 | in 6: one unread (6).
    const timeline: Array<['in' | 'out', number[]]> = [
      ['in', [1, 2]],
      ['out', [3]],
      ['in', [4, 6]],
      ['out', [5]],
    ];
    for (const order of permutations(timeline.map((_, i) => i))) {
      // Inbound batches are stored and counted by one queue in store order, sends by another:
      // store everything first (each inbound batch in its timeline order), then count in `order`.
      const stored = new Map<number, MessageRecord[]>();
      for (const i of order) {
        const [direction, seconds] = timeline[i];
        stored.set(i, await store(seconds.map((s) => message(direction, s))));
      }
      for (const i of order) await counts.record(stored.get(i)!);
      expect({ order, ...(await chat()) }).toMatchObject({
        order,
        unreadCount: 1,
        messageCount: 6,
        lastMessage: { preview: 'in 6' },
      });
      await connection.collection('messages').deleteMany({});
      await connection.collection('chats').deleteMany({});
    }
  });

  it('a reply counted before the older messages it answers leaves them read-free (no count)', async () => {
    const inbound = await store([message('in', 1), message('in', 2)]);
    const reply = await store([message('out', 3)]);
    await counts.record(reply);
    await counts.record(inbound); // the inbound batch's effects ran after the send's
    expect(await chat()).toMatchObject({ unreadCount: 0, messageCount: 3 });
  });

  it('an older reply counted after newer messages clears only what came before it', async () => {
    const reply = await store([message('out', 3)]);
    const before = await store([message('in', 1)]);
    const after = await store([message('in', 4), message('in', 5)]);
    await counts.record(before);
    await counts.record(after);
    await counts.record(reply);
    expect(await chat()).toMatchObject({
      unreadCount: 2,
      clearedBy: reply[0]._id,
      lastMessage: { preview: 'in 5' },
    });
  });

  it('within a second, store order decides: a message received after our reply is unread', async () => {
    // WhatsApp dates the received message in whole seconds, our reply has milliseconds.
    const reply = await store([{ ...message('out', 3), timestamp: new Date(T0 + 3_400) }]);
    const next = await store([message('in', 3)]);
    await counts.record(next); // counted first, all the same
    await counts.record(reply);
    expect(await chat()).toMatchObject({ unreadCount: 1, lastMessage: { preview: 'in 3' } });
  });

  it('counts concurrent inbound batches and replies right', async () => {
    const inbound = await store([message('in', 1), message('in', 2), message('in', 4)]);
    const replies = await Promise.all([store([message('out', 3)]), store([message('out', 0)])]);
    await Promise.all([
      counts.record(inbound),
      ...replies.map((r) => counts.record(r)),
      counts.recount('org_main', CHAT),
    ]);
    expect(await chat()).toMatchObject({ unreadCount: 1, messageCount: 5 });
  });

  it('marks read only what the count holds: a message stored but not counted yet stays unread', async () => {
    await counts.record(await store([message('in', 1)]));
    const late = await store([message('in', 2)]); // its effects still to run
    const { countedThrough } = await chat();
    const ids = await messages.unreadIdsOf({ ...SCOPE, countedThrough }, 100);
    expect(ids).toHaveLength(1);
    expect(await messages.markReadByUs(ids, new Date())).toBe(1);
    expect(await counts.recount('org_main', CHAT)).toMatchObject({ unreadCount: 0 });
    await counts.record(late);
    expect(await chat()).toMatchObject({ unreadCount: 1 });
    const rest = await messages.unreadIdsOf(
      { ...SCOPE, countedThrough: (await chat()).countedThrough },
      100,
    );
    expect(rest).toEqual([late[0]._id]);
  });

  it('recounts a replayed batch that the crash had counted already', async () => {
    const reply = await store([message('out', 1)]);
    const inbound = await store([message('in', 2), message('in', 3)]);
    await counts.record(reply);
    await counts.record(inbound);
    await counts.record(inbound); // the replay counts them again
    expect(await chat()).toMatchObject({ unreadCount: 4, messageCount: 5 });
    expect(await counts.recount('org_main', CHAT, { messages: true })).toMatchObject({
      unreadCount: 2,
      messageCount: 3,
    });
    expect(await chat()).toMatchObject({ unreadCount: 2, messageCount: 3 });
  });

  it('finds the time of the reply that cleared a chat written before the time was kept', async () => {
    const reply = await store([message('out', 5)]);
    await counts.record(reply);
    await connection
      .collection('chats')
      .updateOne(
        { chatJid: CHAT },
        { $unset: { clearedAt: 1, countedThrough: 1, countsVersion: 1 } },
      );
    await counts.record(await store([message('in', 4), message('in', 6)]));
    expect(await chat()).toMatchObject({ unreadCount: 1 });
  });

  describe('a send clears the count once it went out, never when it failed, in any order', () => {
    /** A send accepted `pending`, as the API stores it. */
    const send = (s: number) => ({ ...message('out', s), status: 'pending' as const });
    /** Its status change as MessageStatusService makes it: the write, then its effects. */
    const advance = async (m: MessageRecord, status: 'sent' | 'failed') => {
      const moved = await messages.advanceStatus({ _id: m._id }, status, new Date());
      await counts.countWentOut(moved!.after);
    };

    it('a pending reply clears nothing; it does once sent, a failed one never', async () => {
      await counts.record(await store([message('in', 1), message('in', 2)]));
      const [failing] = await store([send(3)]);
      await counts.record([failing]);
      expect(await chat()).toMatchObject({ unreadCount: 2, messageCount: 3 });
      await advance(failing, 'failed');
      expect(await chat()).toMatchObject({ unreadCount: 2 });
      expect((await chat()).clearedBy).toBeUndefined();
      // The count, recounted, stays: a failed reply marks nothing answered.
      expect(await counts.recount('org_main', CHAT)).toMatchObject({ unreadCount: 2 });

      const [real] = await store([send(4)]);
      await counts.record([real]);
      expect(await chat()).toMatchObject({ unreadCount: 2 });
      await advance(real, 'sent');
      expect(await chat()).toMatchObject({ unreadCount: 0, clearedBy: real._id });
    });

    it('a status change that overtook the send being counted clears all the same', async () => {
      await counts.record(await store([message('in', 1)]));
      const [reply] = await store([send(2)]);
      // Sent before the send's own effects counted it: the chat does not hold it yet.
      await advance(reply, 'sent');
      await counts.record([reply]); // the record as stored: pending
      expect(await chat()).toMatchObject({ unreadCount: 0, messageCount: 2, clearedBy: reply._id });
    });

    it('the same when the chat did not exist yet', async () => {
      const [reply] = await store([send(2)]);
      await advance(reply, 'sent'); // finds no chat
      const inbound = await store([message('in', 1), message('in', 3)]);
      await counts.record([reply]);
      await counts.record(inbound);
      expect(await chat()).toMatchObject({ unreadCount: 1, messageCount: 3, clearedBy: reply._id });
    });

    it('replayed or late status changes change nothing more, an older send does not move the point back', async () => {
      await counts.record(await store([message('in', 1)]));
      const [older, newer] = await store([send(2), send(4)]);
      await counts.record([older, newer]);
      await counts.record(await store([message('in', 3), message('in', 5)]));
      expect(await chat()).toMatchObject({ unreadCount: 3 });
      await advance(newer, 'sent');
      expect(await chat()).toMatchObject({ unreadCount: 1, clearedBy: newer._id });
      await advance(older, 'sent'); // went out second, is older: the point stays
      const sent = (await messages.findById(newer._id))!;
      await counts.countWentOut(sent); // a replay of the newer one's change
      expect(await chat()).toMatchObject({ unreadCount: 1, clearedBy: newer._id });
    });
  });
});
