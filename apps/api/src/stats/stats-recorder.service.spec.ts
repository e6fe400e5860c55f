import { Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { MessageRecord } from '../messaging/message.types';
import { StatsRecorder } from './stats-recorder.service';
import { STATS_LID_SOURCE, STATS_MESSAGES_SOURCE } from './stats.ports';
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

/** What a reply that answered nothing (and came in order) gets from resolveAwaiting. */
const NOTHING_ANSWERED = { laterReply: false };

/** A received message: what opens a wait for a reply. */
const received = (over: Partial<MessageRecord> = {}) =>
  message({ direction: 'in', fromMe: false, status: 'delivered', ...over });

describe('StatsRecorder', () => {
  const repository = {
    insertMessageStates: vi.fn(),
    claimNotes: vi.fn(),
    pendingStates: vi.fn(),
    pendingNoteClaims: vi.fn(),
    applyMarked: vi.fn(),
    releaseMarkers: vi.fn(),
    clearPendingStates: vi.fn(),
    statePaths: vi.fn(),
    clearPendingNoteClaims: vi.fn(),
    markAwaitingMany: vi.fn(),
    advanceMessageStatus: vi.fn(),
    incrementBuckets: vi.fn(),
    markAwaiting: vi.fn(),
    resolveAwaiting: vi.fn(),
    insertResponseSample: vi.fn(),
    markAnswered: vi.fn(),
    answerOf: vi.fn(),
  };
  const messages = { firstReplyAt: vi.fn(), lastReplyBefore: vi.fn(), firstInboundAfter: vi.fn() };
  const lids = { phoneOf: vi.fn(), lidOf: vi.fn() };
  let recorder: StatsRecorder;
  const hour = new Date('2026-01-05T13:00:00Z');
  const order: string[] = [];

  beforeEach(async () => {
    vi.resetAllMocks();
    order.length = 0;
    // Every state and claim is new unless a test says otherwise.
    repository.insertMessageStates.mockImplementation(
      async (states: { _id: string }[]) => new Set(states.map((s) => s._id)),
    );
    repository.claimNotes.mockImplementation(
      async (claims: { _id: string }[]) => new Set(claims.map((c) => c._id)),
    );
    repository.pendingStates.mockResolvedValue([]);
    repository.pendingNoteClaims.mockResolvedValue([]);
    // No state was moved while its changes were applied: their markers are released.
    repository.statePaths.mockResolvedValue(new Map());
    for (const step of [
      'applyMarked',
      'clearPendingStates',
      'clearPendingNoteClaims',
      'releaseMarkers',
    ] as const)
      repository[step].mockImplementation(async () => void order.push(step));
    repository.resolveAwaiting.mockResolvedValue(NOTHING_ANSWERED);
    repository.markAwaitingMany.mockResolvedValue([]);
    repository.markAwaiting.mockResolvedValue(false);
    const moduleRef = await Test.createTestingModule({
      providers: [
        StatsRecorder,
        { provide: StatsRepository, useValue: repository },
        { provide: STATS_MESSAGES_SOURCE, useValue: messages },
        { provide: STATS_LID_SOURCE, useValue: lids },
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
  /** The marked changes of every applyMarked call so far. */
  const applied = () =>
    repository.applyMarked.mock.calls.flatMap(
      (call) => call[0] as Array<{ marker: string; inc: object; reason?: string; at: Date }>,
    );

  it('counts a created message once, in the buckets of its hour, noting the change with its state first', async () => {
    await created(message());
    expect(repository.insertMessageStates).toHaveBeenCalledWith([
      {
        _id: 'm1',
        organizationId: 'org1',
        sessionName: 's1',
        direction: 'out',
        status: 'pending',
        hour,
        path: ['pending'],
        pending: {
          created: {
            at: expect.any(Date),
            inc: { sent: 1, 'byStatus.pending': 1, 'byType.text': 1 },
          },
        },
      },
    ]);
    expect(applied()).toEqual([
      {
        organizationId: 'org1',
        sessionName: 's1',
        at: hour,
        inc: { sent: 1, 'byStatus.pending': 1, 'byType.text': 1 },
        reason: undefined,
        marker: 'm1:created',
      },
    ]);
    expect(repository.clearPendingStates).toHaveBeenCalledWith([{ id: 'm1', key: 'created' }]);
    // Counters first, then the claim cleared, then the markers released: a crash anywhere is finished by a replay.
    expect(order).toEqual(['applyMarked', 'clearPendingStates', 'releaseMarkers']);
  });

  it('counts only the messages of a batch that were not counted before (duplicate events)', async () => {
    repository.insertMessageStates.mockResolvedValue(new Set(['m2']));
    await created(message(), message({ _id: 'm2' }));
    expect(repository.pendingStates).toHaveBeenCalledWith(['m1']);
    expect(applied().map((c) => c.marker)).toEqual(['m2:created']);
  });

  it('a replay finishes the changes a crash left pending on states that exist', async () => {
    repository.insertMessageStates.mockResolvedValue(new Set());
    repository.pendingStates.mockResolvedValue([
      {
        _id: 'm1',
        organizationId: 'org1',
        sessionName: 's1',
        direction: 'out',
        status: 'sent',
        hour,
        path: ['pending', 'sent'],
        pending: {
          created: { inc: { sent: 1, 'byStatus.pending': 1, 'byType.text': 1 } },
          sent: {},
        },
      },
    ]);
    await created(message());
    expect(applied()).toEqual([
      expect.objectContaining({
        marker: 'm1:created',
        inc: { sent: 1, 'byStatus.pending': 1, 'byType.text': 1 },
      }),
      expect.objectContaining({
        marker: 'm1:sent',
        inc: { 'byStatus.pending': -1, 'byStatus.sent': 1 },
      }),
    ]);
    expect(repository.clearPendingStates).toHaveBeenCalledWith([
      { id: 'm1', key: 'created' },
      { id: 'm1', key: 'sent' },
    ]);
  });

  it('leaves a pending change noted moments ago to the handler that noted it (in flight, not cut off)', async () => {
    repository.insertMessageStates.mockResolvedValue(new Set());
    repository.pendingStates.mockResolvedValue([
      {
        _id: 'm1',
        organizationId: 'org1',
        sessionName: 's1',
        direction: 'out',
        status: 'sent',
        hour,
        path: ['pending', 'sent'],
        pending: { sent: { at: new Date() } },
      },
    ]);
    await created(message());
    expect(applied()).toEqual([]);
    expect(repository.clearPendingStates).not.toHaveBeenCalled();
  });

  it('counts received messages under one claim per note carrying their increments, without a state row each', async () => {
    await recorder.onMessagesCreated({
      sessionId: 'org1_s1',
      messages: [received({ _id: 'a1' }), received({ _id: 'b1' }), message({ _id: 'b2' })],
      notes: [
        { id: 'na', messageIds: ['a1'] },
        { id: 'nb', messageIds: ['b1', 'b2'] },
      ],
    });
    const inc = { received: 1, 'byType.text': 1 };
    expect(repository.claimNotes).toHaveBeenCalledWith([
      { _id: 'na', pending: [{ organizationId: 'org1', sessionName: 's1', at: hour, inc }] },
      { _id: 'nb', pending: [{ organizationId: 'org1', sessionName: 's1', at: hour, inc }] },
    ]);
    // Only the outgoing message has a status to follow.
    expect(repository.insertMessageStates).toHaveBeenCalledWith([
      expect.objectContaining({ _id: 'b2' }),
    ]);
    expect(applied().map((c) => [c.marker, c.inc])).toEqual([
      ['b2:created', { sent: 1, 'byStatus.pending': 1, 'byType.text': 1 }],
      ['note:na', inc],
      ['note:nb', inc],
    ]);
    expect(repository.clearPendingNoteClaims).toHaveBeenCalledWith(['na', 'nb']);
  });

  it('a replayed note finishes only what its claim still holds pending', async () => {
    repository.claimNotes.mockResolvedValue(new Set(['nb']));
    repository.pendingNoteClaims.mockResolvedValue([]); // na was counted before the crash
    await recorder.onMessagesCreated({
      sessionId: 'org1_s1',
      messages: [received({ _id: 'a1' }), received({ _id: 'b1' })],
      notes: [
        { id: 'na', messageIds: ['a1'] },
        { id: 'nb', messageIds: ['b1'] },
      ],
      replayed: true,
    });
    expect(repository.pendingNoteClaims).toHaveBeenCalledWith(['na']);
    expect(applied().map((c) => c.marker)).toEqual(['note:nb']);

    repository.claimNotes.mockResolvedValue(new Set());
    repository.pendingNoteClaims.mockResolvedValue([
      {
        _id: 'na',
        pending: [{ organizationId: 'org1', sessionName: 's1', at: hour, inc: { received: 1 } }],
      },
    ]);
    repository.applyMarked.mockClear();
    await recorder.onMessagesCreated({
      sessionId: 'org1_s1',
      messages: [received({ _id: 'a1' })],
      notes: [{ id: 'na', messageIds: ['a1'] }],
      replayed: true,
    });
    expect(applied().map((c) => [c.marker, c.inc])).toEqual([['note:na', { received: 1 }]]);
  });

  it('a forward status change is noted with its state, then moves the message in its creation bucket; failed counts the reason', async () => {
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
    expect(repository.advanceMessageStatus).toHaveBeenCalledWith('org1', 'm1', 'failed', {
      at: expect.any(Date),
      reason: 'Session not connected',
    });
    expect(applied()).toEqual([
      {
        organizationId: 'org1',
        sessionName: 's1',
        at: hour,
        inc: { 'byStatus.pending': -1, 'byStatus.failed': 1 },
        reason: 'Session not connected',
        marker: 'm1:failed',
      },
    ]);
    expect(repository.clearPendingStates).toHaveBeenCalledWith([{ id: 'm1', key: 'failed' }]);

    // failed at creation: counted with its reason
    repository.applyMarked.mockClear();
    await created(message({ _id: 'm2', status: 'failed', error: 'No route' }));
    expect(applied()).toEqual([
      expect.objectContaining({ marker: 'm2:created', reason: 'No route' }),
    ]);
  });

  it('a move finishes the changes a crash left pending on its state (no replay comes back for them)', async () => {
    repository.advanceMessageStatus.mockResolvedValue({
      _id: 'm1',
      organizationId: 'org1',
      sessionName: 's1',
      direction: 'out',
      status: 'sent',
      hour,
      path: ['pending', 'sent'],
      // Noted moments before a kill -9; the restart's first receipt moves the state on.
      pending: { sent: { at: new Date() } },
    });
    await recorder.onStatusChanged({
      message: message({ status: 'read' }),
      status: 'read',
      at: new Date(),
    });
    expect(applied().map((c) => [c.marker, c.inc])).toEqual([
      ['m1:sent', { 'byStatus.pending': -1, 'byStatus.sent': 1 }],
      ['m1:read', { 'byStatus.sent': -1, 'byStatus.read': 1 }],
    ]);
    expect(repository.clearPendingStates).toHaveBeenCalledWith([
      { id: 'm1', key: 'sent' },
      { id: 'm1', key: 'read' },
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
    expect(applied()).toEqual([]);

    repository.insertMessageStates.mockResolvedValue(new Set(['m1']));
    await recorder.onStatusChanged({
      message: message({ status: 'read' }),
      status: 'read',
      at: new Date(),
    });
    expect(applied()).toEqual([
      expect.objectContaining({
        marker: 'm1:created',
        inc: { sent: 1, 'byStatus.read': 1, 'byType.text': 1 },
      }),
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
    repository.resolveAwaiting.mockResolvedValue({
      since: new Date('2026-01-05T13:00:00Z'),
      laterInbound: false,
    });
    repository.insertResponseSample.mockResolvedValue(true);
    await created(message({ _id: 'out1', status: 'sent' })); // sent from the phone: went out
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

  it('a reply answers once it went out: not while pending, never when it failed', async () => {
    const state = (status: string) => ({
      _id: 'out1',
      organizationId: 'org1',
      sessionName: 's1',
      direction: 'out',
      status,
      hour,
    });
    const repliedAt = new Date('2026-01-05T14:00:00Z');
    const changed = (id: string, status: MessageRecord['status']) =>
      recorder.onStatusChanged({
        message: message({ _id: id, status, timestamp: repliedAt }),
        status,
        at: new Date(),
      });
    await created(message({ _id: 'out1' })); // accepted, pending
    expect(repository.resolveAwaiting).not.toHaveBeenCalled();
    repository.advanceMessageStatus.mockResolvedValue(state('pending'));
    await changed('out1', 'failed'); // the session was gone until the deadline
    expect(repository.resolveAwaiting).not.toHaveBeenCalled();

    await created(message({ _id: 'out2', timestamp: repliedAt }));
    await changed('out2', 'sent');
    expect(repository.resolveAwaiting).toHaveBeenCalledTimes(1);
    expect(repository.resolveAwaiting).toHaveBeenCalledWith(
      'org1',
      's1',
      '201001234567@s.whatsapp.net',
      repliedAt,
    );
    // Later receipts of a reply that went out answer nothing again.
    repository.advanceMessageStatus.mockResolvedValue(state('sent'));
    await changed('out2', 'read');
    expect(repository.resolveAwaiting).toHaveBeenCalledTimes(1);
  });

  it('a status that overtook the created event answers then; a duplicate of it does not', async () => {
    repository.advanceMessageStatus.mockResolvedValue(null);
    await recorder.onStatusChanged({
      message: message({ status: 'delivered' }),
      status: 'delivered',
      at: new Date(),
    });
    expect(repository.resolveAwaiting).toHaveBeenCalledTimes(1);
    repository.insertMessageStates.mockResolvedValue(new Set());
    await recorder.onStatusChanged({
      message: message({ status: 'delivered' }),
      status: 'delivered',
      at: new Date(),
    });
    await created(message()); // the late created event: the message as accepted, pending
    expect(repository.resolveAwaiting).toHaveBeenCalledTimes(1);
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
      status: 'sent',
      chatJid: 'b@s.whatsapp.net',
      timestamp: new Date(Date.UTC(2026, 0, 5, 13, 5)),
    });
    const calls: string[] = [];
    repository.markAwaiting.mockImplementation(async () => void calls.push('mark'));
    repository.resolveAwaiting.mockImplementation(async () => {
      calls.push('resolve');
      return NOTHING_ANSWERED;
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
    await created(
      message({ _id: 'o0', status: 'sent' }),
      received({ _id: 'in1', timestamp: inboundAt }),
    );
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
