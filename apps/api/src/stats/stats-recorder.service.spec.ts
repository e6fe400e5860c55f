import { Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { MessageRecord } from '../messaging/message.types';
import { StatsRecorder } from './stats-recorder.service';
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

describe('StatsRecorder', () => {
  const repository = {
    insertMessageState: vi.fn(),
    advanceMessageStatus: vi.fn(),
    incrementBuckets: vi.fn(),
    incrementFailure: vi.fn(),
    markAwaiting: vi.fn(),
    resolveAwaiting: vi.fn(),
    insertResponseSample: vi.fn(),
  };
  let recorder: StatsRecorder;
  const hour = new Date('2026-01-05T13:00:00Z');

  beforeEach(async () => {
    vi.resetAllMocks();
    repository.insertMessageState.mockResolvedValue(true);
    repository.resolveAwaiting.mockResolvedValue(null);
    const moduleRef = await Test.createTestingModule({
      providers: [StatsRecorder, { provide: StatsRepository, useValue: repository }],
    }).compile();
    recorder = moduleRef.get(StatsRecorder);
  });

  it('counts a created message once, in the bucket of its timestamp', async () => {
    await recorder.onMessageCreated({ message: message() });
    expect(repository.insertMessageState).toHaveBeenCalledWith({
      _id: 'm1',
      organizationId: 'org1',
      sessionName: 's1',
      direction: 'out',
      status: 'pending',
      hour,
    });
    expect(repository.incrementBuckets).toHaveBeenCalledWith(
      'org1',
      's1',
      new Date('2026-01-05T13:45:00Z'),
      { sent: 1, 'byStatus.pending': 1, 'byType.text': 1 },
    );
  });

  it('a duplicate created event changes no counter', async () => {
    repository.insertMessageState.mockResolvedValue(false);
    await recorder.onMessageCreated({ message: message() });
    expect(repository.incrementBuckets).not.toHaveBeenCalled();
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
      previousStatus: 'pending',
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

    // failed at creation: counted with its reason at the message time
    repository.incrementFailure.mockClear();
    await recorder.onMessageCreated({
      message: message({ _id: 'm2', status: 'failed', error: 'No route' }),
    });
    expect(repository.incrementFailure).toHaveBeenCalledWith(
      'org1',
      's1',
      new Date('2026-01-05T13:45:00Z'),
      'No route',
    );
  });

  it('a stale or duplicate status change is a no-op; one for an uncounted message counts it with that status', async () => {
    repository.advanceMessageStatus.mockResolvedValue(null);
    repository.insertMessageState.mockResolvedValue(false);
    await recorder.onStatusChanged({
      message: message({ status: 'read' }),
      previousStatus: 'sent',
      status: 'delivered',
      at: new Date(),
    });
    expect(repository.incrementBuckets).not.toHaveBeenCalled();

    repository.insertMessageState.mockResolvedValue(true);
    await recorder.onStatusChanged({
      message: message({ status: 'read' }),
      previousStatus: 'delivered',
      status: 'read',
      at: new Date(),
    });
    expect(repository.incrementBuckets).toHaveBeenCalledWith('org1', 's1', expect.any(Date), {
      sent: 1,
      'byStatus.read': 1,
      'byType.text': 1,
    });
  });

  it('ignores status changes of incoming messages', async () => {
    await recorder.onStatusChanged({
      message: message({ direction: 'in' }),
      previousStatus: 'delivered',
      status: 'read',
      at: new Date(),
    });
    expect(repository.advanceMessageStatus).not.toHaveBeenCalled();
  });

  it('inbound opens a wait; the next outgoing message stores the response time', async () => {
    await recorder.onMessageCreated({
      message: message({
        _id: 'in1',
        direction: 'in',
        fromMe: false,
        status: 'delivered',
        timestamp: new Date('2026-01-05T13:00:00Z'),
      }),
    });
    expect(repository.markAwaiting).toHaveBeenCalledWith(
      'org1',
      's1',
      '201001234567@s.whatsapp.net',
      new Date('2026-01-05T13:00:00Z'),
    );
    repository.resolveAwaiting.mockResolvedValue(new Date('2026-01-05T13:00:00Z'));
    repository.insertResponseSample.mockResolvedValue(true);
    await recorder.onMessageCreated({ message: message({ _id: 'out1' }) });
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

  it('reactions neither open nor answer a wait', async () => {
    await recorder.onMessageCreated({ message: message({ direction: 'in', type: 'reaction' }) });
    await recorder.onMessageCreated({ message: message({ type: 'reaction' }) });
    expect(repository.markAwaiting).not.toHaveBeenCalled();
    expect(repository.resolveAwaiting).not.toHaveBeenCalled();
  });

  it('logs and swallows store errors (the messaging write must not fail)', async () => {
    vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    repository.insertMessageState.mockRejectedValue(new Error('boom'));
    await expect(recorder.onMessageCreated({ message: message() })).resolves.toBeUndefined();
  });
});
