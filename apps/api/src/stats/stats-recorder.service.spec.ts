import { Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { MessageRecord } from '../messaging/message.types';
import { StatsRecorder } from './stats-recorder.service';
import { STATS_MESSAGES_SOURCE } from './stats.ports';
import { StatsRepository } from './stats.repository';

const message = (over: Partial<MessageRecord> = {}): MessageRecord =>
  ({
    _id: 'm1',
    organizationId: 'org1',
    sessionId: 'org1_s1',
    sessionName: 's1',
    direction: 'out',
    chatJid: '201001234567@s.whatsapp.net',
    fromMe: true,
    type: 'text',
    status: 'pending',
    attempts: 0,
    timestamp: new Date('2026-01-05T13:45:00Z'),
    createdAt: new Date('2026-01-05T13:45:01Z'),
    updatedAt: new Date('2026-01-05T13:45:01Z'),
    ...over,
  }) as MessageRecord;

/** A received message: what opens a wait for a reply. */
const received = (over: Partial<MessageRecord> = {}) =>
  message({ direction: 'in', fromMe: false, status: 'delivered', ...over });

describe('StatsRecorder', () => {
  const repository = {
    insertMessageStates: vi.fn(),
    claimNotes: vi.fn(),
    incrementBucketsMany: vi.fn(),
    bulkIncrementFailures: vi.fn(),
    markAwaitingMany: vi.fn(),
    advanceMessageStatus: vi.fn(),
    incrementBuckets: vi.fn(),
    incrementFailure: vi.fn(),
    markAwaiting: vi.fn(),
    resolveAwaiting: vi.fn(),
    insertResponseSample: vi.fn(),
  };
  const messages = { firstReplyAt: vi.fn() };
  let recorder: StatsRecorder;
  const hour = new Date('2026-01-05T13:00:00Z');

  beforeEach(async () => {
    vi.resetAllMocks();
    // Every state is new unless a test says otherwise.
    repository.insertMessageStates.mockImplementation(
      async (states: { _id: string }[]) => new Set(states.map((s) => s._id)),
    );
    repository.claimNotes.mockImplementation(async (ids: string[]) => new Set(ids));
    repository.resolveAwaiting.mockResolvedValue(null);
    repository.markAwaitingMany.mockResolvedValue([]);
    repository.markAwaiting.mockResolvedValue(false);
    const moduleRef = await Test.createTestingModule({
      providers: [
        StatsRecorder,
        { provide: StatsRepository, useValue: repository },
        { provide: STATS_MESSAGES_SOURCE, useValue: messages },
      ],
    }).compile();
    recorder = moduleRef.get(StatsRecorder);
  });

  /** One ingest batch: the messages stored under one write-ahead note. */
  const created = (...messages: MessageRecord[]) =>
    recorder.onMessagesCreated({
      sessionId: 'org1_s1',
      messages,
      notes: [{ id: 'n1', messageIds: messages.map((m) => m._id) }],
    });

  it('counts a created message once, in the bucket of its timestamp', async () => {
    await created(message());
    expect(repository.insertMessageStates).toHaveBeenCalledWith([
      {
        _id: 'm1',
        organizationId: 'org1',
        sessionName: 's1',
        direction: 'out',
        status: 'pending',
        hour,
      },
    ]);
    expect(repository.incrementBucketsMany).toHaveBeenCalledWith([
      {
        organizationId: 'org1',
        sessionName: 's1',
        at: new Date('2026-01-05T13:45:00Z'),
        inc: { sent: 1, 'byStatus.pending': 1, 'byType.text': 1 },
      },
    ]);
  });

  it('counts only the messages of a batch that were not counted before (duplicate events)', async () => {
    repository.insertMessageStates.mockResolvedValue(new Set(['m2']));
    await created(message(), message({ _id: 'm2' }));
    expect(repository.incrementBucketsMany).toHaveBeenCalledWith([
      expect.objectContaining({ inc: { sent: 1, 'byStatus.pending': 1, 'byType.text': 1 } }),
    ]);
  });

  it('counts received messages under one claim per note, without a state row each', async () => {
    await recorder.onMessagesCreated({
      sessionId: 'org1_s1',
      messages: [received({ _id: 'a1' }), received({ _id: 'b1' }), message({ _id: 'b2' })],
      notes: [
        { id: 'na', messageIds: ['a1'] },
        { id: 'nb', messageIds: ['b1', 'b2'] },
      ],
    });
    expect(repository.claimNotes).toHaveBeenCalledWith(['na', 'nb']);
    // Only the outgoing message has a status to follow.
    expect(repository.insertMessageStates).toHaveBeenCalledWith([
      expect.objectContaining({ _id: 'b2' }),
    ]);
    const counted = repository.incrementBucketsMany.mock.calls[0][0] as { inc: object }[];
    expect(counted.map((c) => c.inc)).toEqual([
      { received: 1, 'byType.text': 1 },
      { received: 1, 'byType.text': 1 },
      { sent: 1, 'byStatus.pending': 1, 'byType.text': 1 },
    ]);
  });

  it('a replayed note that was claimed before counts none of its received messages again', async () => {
    repository.claimNotes.mockResolvedValue(new Set(['nb']));
    await recorder.onMessagesCreated({
      sessionId: 'org1_s1',
      messages: [received({ _id: 'a1' }), received({ _id: 'b1' })],
      notes: [
        { id: 'na', messageIds: ['a1'] },
        { id: 'nb', messageIds: ['b1'] },
      ],
      replayed: true,
    });
    const counted = repository.incrementBucketsMany.mock.calls[0][0] as { inc: object }[];
    expect(counted).toHaveLength(1);
    expect(repository.insertMessageStates).toHaveBeenCalledWith([]);
  });

  it('a forward status change moves the message in its creation bucket; failed counts the reason', async () => {
    repository.advanceMessageStatus.mockResolvedValue({
      _id: 'm1',
      organizationId: 'org1',
      sessionName: 's1',
      direction: 'out',
      status: 'pending',
      hour,
    });
    await recorder.onStatusChanged({
      message: message({ status: 'failed', error: 'Session not connected' }),
      status: 'failed',
      at: new Date(),
    });
    expect(repository.advanceMessageStatus).toHaveBeenCalledWith('org1', 'm1', 'failed');
    expect(repository.incrementBuckets).toHaveBeenCalledWith('org1', 's1', hour, {
      'byStatus.pending': -1,
      'byStatus.failed': 1,
    });
    expect(repository.incrementFailure).toHaveBeenCalledWith(
      'org1',
      's1',
      hour,
      'Session not connected',
    );

    // failed at creation: counted with its reason in the hour and day of the message time
    await created(message({ _id: 'm2', status: 'failed', error: 'No route' }));
    expect(repository.bulkIncrementFailures).toHaveBeenCalledWith([
      expect.objectContaining({ granularity: 'hour', start: hour, reason: 'No route', count: 1 }),
      expect.objectContaining({
        granularity: 'day',
        start: new Date('2026-01-05T00:00:00Z'),
        reason: 'No route',
        count: 1,
      }),
    ]);
  });

  it('a stale or duplicate status change is a no-op; one for an uncounted message counts it with that status', async () => {
    repository.advanceMessageStatus.mockResolvedValue(null);
    repository.insertMessageStates.mockResolvedValue(new Set());
    await recorder.onStatusChanged({
      message: message({ status: 'read' }),
      status: 'delivered',
      at: new Date(),
    });
    expect(repository.incrementBucketsMany).toHaveBeenCalledWith([]);

    repository.insertMessageStates.mockResolvedValue(new Set(['m1']));
    await recorder.onStatusChanged({
      message: message({ status: 'read' }),
      status: 'read',
      at: new Date(),
    });
    expect(repository.incrementBucketsMany).toHaveBeenLastCalledWith([
      expect.objectContaining({ inc: { sent: 1, 'byStatus.read': 1, 'byType.text': 1 } }),
    ]);
  });

  it('ignores status changes of incoming messages', async () => {
    await recorder.onStatusChanged({
      message: message({ direction: 'in' }),
      status: 'read',
      at: new Date(),
    });
    expect(repository.advanceMessageStatus).not.toHaveBeenCalled();
  });

  it('inbound opens a wait; the next outgoing message stores the response time', async () => {
    await created(received({ _id: 'in1', timestamp: new Date('2026-01-05T13:00:00Z') }));
    expect(repository.markAwaitingMany).toHaveBeenCalledWith([
      {
        organizationId: 'org1',
        sessionName: 's1',
        chatJid: '201001234567@s.whatsapp.net',
        times: [new Date('2026-01-05T13:00:00Z')],
      },
    ]);
    repository.resolveAwaiting.mockResolvedValue(new Date('2026-01-05T13:00:00Z'));
    repository.insertResponseSample.mockResolvedValue(true);
    await created(message({ _id: 'out1' }));
    expect(repository.insertResponseSample).toHaveBeenCalledWith(
      expect.objectContaining({
        _id: 'out1',
        day: '2026-01-05',
        responseMs: 45 * 60_000,
        bin: 46,
        inboundAt: new Date('2026-01-05T13:00:00Z'),
      }),
    );
    // histogram counted in the inbound message's buckets
    expect(repository.incrementBuckets).toHaveBeenLastCalledWith(
      'org1',
      's1',
      new Date('2026-01-05T13:00:00Z'),
      { 'rt.46': 1 },
    );
  });

  it('a batch marks inbound-only chats together and replays a chat with a reply in order', async () => {
    const inbound = (id: string, chatJid: string, minute: number) =>
      message({
        _id: id,
        direction: 'in',
        fromMe: false,
        status: 'delivered',
        chatJid,
        timestamp: new Date(Date.UTC(2026, 0, 5, 13, minute)),
      });
    const out = message({
      _id: 'o',
      chatJid: 'b@s.whatsapp.net',
      timestamp: new Date(Date.UTC(2026, 0, 5, 13, 5)),
    });
    const calls: string[] = [];
    repository.markAwaiting.mockImplementation(async () => void calls.push('mark'));
    repository.resolveAwaiting.mockImplementation(async () => {
      calls.push('resolve');
      return null;
    });
    await created(
      inbound('a1', 'a@s.whatsapp.net', 1),
      inbound('b1', 'b@s.whatsapp.net', 2),
      out,
      inbound('a2', 'a@s.whatsapp.net', 3),
    );
    expect(repository.markAwaitingMany).toHaveBeenCalledWith([
      expect.objectContaining({
        chatJid: 'a@s.whatsapp.net',
        times: [new Date(Date.UTC(2026, 0, 5, 13, 1)), new Date(Date.UTC(2026, 0, 5, 13, 3))],
      }),
    ]);
    expect(calls).toEqual(['mark', 'resolve']);
  });

  it('an inbound message stored after our reply to it is answered by that reply', async () => {
    const chat = {
      organizationId: 'org1',
      sessionName: 's1',
      chatJid: '201001234567@s.whatsapp.net',
    };
    const inboundAt = new Date('2026-01-05T13:00:00Z');
    repository.markAwaitingMany.mockResolvedValue([{ ...chat, at: inboundAt }]);
    messages.firstReplyAt.mockResolvedValue({
      _id: 'out1',
      timestamp: new Date('2026-01-05T13:00:02Z'),
    });
    repository.insertResponseSample.mockResolvedValue(true);
    await created(received({ _id: 'in1', timestamp: inboundAt }));
    expect(messages.firstReplyAt).toHaveBeenCalledWith(chat, inboundAt);
    expect(repository.insertResponseSample).toHaveBeenCalledWith(
      expect.objectContaining({ _id: 'out1', inboundAt, responseMs: 2000 }),
    );
    expect(repository.incrementBuckets).toHaveBeenCalledWith('org1', 's1', inboundAt, {
      'rt.5': 1,
    });
  });

  it('a late inbound message in a chat replayed in order is answered the same way', async () => {
    repository.markAwaiting.mockResolvedValue(true);
    messages.firstReplyAt.mockResolvedValue(null);
    const inboundAt = new Date('2026-01-05T13:50:00Z');
    await created(message({ _id: 'o0' }), received({ _id: 'in1', timestamp: inboundAt }));
    expect(messages.firstReplyAt).toHaveBeenCalledWith(
      expect.objectContaining({ chatJid: '201001234567@s.whatsapp.net' }),
      inboundAt,
    );
    // No reply found (it was a reaction, or deleted): nothing recorded.
    expect(repository.insertResponseSample).not.toHaveBeenCalled();
  });

  it('reactions neither open nor answer a wait', async () => {
    await created(message({ direction: 'in', type: 'reaction' }));
    await created(message({ type: 'reaction' }));
    expect(repository.markAwaitingMany).toHaveBeenCalledWith([]);
    expect(repository.markAwaiting).not.toHaveBeenCalled();
    expect(repository.resolveAwaiting).not.toHaveBeenCalled();
  });

  it('logs and swallows store errors (the messaging write must not fail)', async () => {
    vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    repository.insertMessageStates.mockRejectedValue(new Error('boom'));
    await expect(created(message())).resolves.toBeUndefined();
  });
});
