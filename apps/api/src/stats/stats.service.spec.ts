import { Test } from '@nestjs/testing';
import { SessionNotFoundError } from '@app/whatsapp';
import { StatsRepository } from './stats.repository';
import { STATS_CLOCK, StatsService } from './stats.service';
import { STATS_CONTACTS_SOURCE, STATS_SESSIONS_SOURCE } from './stats.ports';

describe('StatsService', () => {
  const repository = {
    findBuckets: vi.fn(),
    findFailureReasons: vi.fn(),
    countResponseSamples: vi.fn(),
    responseTimesAt: vi.fn(),
    responseTimesInBin: vi.fn(),
    hasSessionData: vi.fn(),
  };
  const sessions = { list: vi.fn() };
  const contacts = { summary: vi.fn() };
  let service: StatsService;

  beforeEach(async () => {
    vi.resetAllMocks();
    repository.findBuckets.mockResolvedValue([]);
    repository.findFailureReasons.mockResolvedValue([]);
    repository.countResponseSamples.mockResolvedValue(0);
    repository.hasSessionData.mockResolvedValue(false);
    sessions.list.mockResolvedValue([
      { sessionName: 'a', status: 'connected' },
      { sessionName: 'b', status: 'qr_ready' },
      { sessionName: 'c', status: 'connected' },
    ]);
    contacts.summary.mockResolvedValue({ total: 3, new: 1, linkedToCustomers: 2 });
    const moduleRef = await Test.createTestingModule({
      providers: [
        StatsService,
        { provide: StatsRepository, useValue: repository },
        { provide: STATS_SESSIONS_SOURCE, useValue: sessions },
        { provide: STATS_CONTACTS_SOURCE, useValue: contacts },
        { provide: STATS_CLOCK, useValue: () => new Date('2026-01-10T12:00:00Z') },
      ],
    }).compile();
    service = moduleRef.get(StatsService);
  });

  it('assembles totals, rates, series, sessions, contacts and the median', async () => {
    repository.findBuckets.mockResolvedValue([
      {
        bucket: new Date('2026-01-09T00:00:00Z'),
        sent: 4,
        received: 2,
        byStatus: { delivered: 2, read: 1, failed: 1 },
        byType: { text: 6 },
        rt: { 1: 1, 5: 1 },
      },
      {
        bucket: new Date('2026-01-10T00:00:00Z'),
        received: 1,
        byType: { image: 1 },
        rt: { 5: 1, 9: 1 },
      },
    ]);
    repository.findFailureReasons.mockResolvedValue([{ reason: 'timeout', count: 1 }]);
    // histogram {1: 1, 5: 2, 9: 1}: ranks 1 and 2 are both in bin 5 (offsets 0 and 1)
    repository.responseTimesInBin.mockResolvedValue([1000, 3000]);

    const stats = await service.get('org1', {});
    expect(stats.range).toEqual({
      since: '2025-12-12T00:00:00.000Z',
      until: '2026-01-11T00:00:00.000Z',
      granularity: 'day',
      sessionName: null,
    });
    expect(stats.sessions).toEqual({
      total: 3,
      connected: 2,
      byStatus: { connected: 2, qr_ready: 1 },
    });
    expect(stats.messages).toMatchObject({
      total: 7,
      sent: 4,
      received: 3,
      deliveryRate: 0.75,
      readRate: 0.25,
      topFailureReasons: [{ reason: 'timeout', count: 1 }],
    });
    expect(stats.series).toHaveLength(30);
    expect(stats.series.at(-2)).toEqual({
      bucket: '2026-01-09T00:00:00.000Z',
      sent: 4,
      received: 2,
    });
    expect(stats.responsiveness).toEqual({ medianFirstResponseMs: 2000, samples: 4 });
    expect(repository.responseTimesInBin).toHaveBeenCalledWith(
      expect.objectContaining({ organizationId: 'org1' }),
      5,
      0,
      2,
    );
    expect(repository.countResponseSamples).not.toHaveBeenCalled();
    expect(stats.contacts).toEqual({ total: 3, new: 1, linkedToCustomers: 2 });
    expect(stats.generatedAt).toBe('2026-01-10T12:00:00.000Z');
    expect(repository.findBuckets.mock.calls[0][0]).toMatchObject({
      organizationId: 'org1',
      days: expect.arrayContaining(['2025-12-12', '2026-01-10']),
    });
  });

  it('limits sessions to the requested one and passes it on', async () => {
    const stats = await service.get('org1', { sessionName: 'b' });
    expect(stats.sessions).toEqual({ total: 1, connected: 0, byStatus: { qr_ready: 1 } });
    expect(repository.findBuckets.mock.calls[0][0]).toMatchObject({ sessionName: 'b' });
    expect(contacts.summary).toHaveBeenCalledWith(
      'org1',
      expect.objectContaining({ sessionName: 'b' }),
    );
  });

  it('404 for a session the organization never had; a deleted session with counters still answers', async () => {
    const missing = service.get('org1', { sessionName: 'zzz' });
    await expect(missing).rejects.toBeInstanceOf(SessionNotFoundError);
    await expect(missing).rejects.toMatchObject({
      httpStatus: 404,
      code: 'SESSION_NOT_FOUND',
      message: 'WhatsApp session "zzz" was not found',
      details: { sessionName: 'zzz', sessionId: 'org1_zzz' },
    });
    repository.hasSessionData.mockResolvedValue(true);
    await expect(service.get('org1', { sessionName: 'zzz' })).resolves.toMatchObject({
      sessions: { total: 0 },
    });
  });

  it('reads one sample per bin when the middle ranks straddle bins, and falls back to a full sort if the histogram disagrees', async () => {
    repository.findBuckets.mockResolvedValue([
      { bucket: new Date('2026-01-09T00:00:00Z'), rt: { 2: 1, 7: 1 } },
    ]);
    repository.responseTimesInBin.mockImplementation(async (_w: unknown, bin: number) =>
      bin === 2 ? [1500] : [9000],
    );
    expect((await service.get('org1', {})).responsiveness).toEqual({
      medianFirstResponseMs: 5250,
      samples: 2,
    });

    repository.responseTimesInBin.mockResolvedValue([]);
    repository.countResponseSamples.mockResolvedValue(3);
    repository.responseTimesAt.mockResolvedValue([4000]);
    expect((await service.get('org1', {})).responsiveness).toEqual({
      medianFirstResponseMs: 4000,
      samples: 3,
    });
    expect(repository.responseTimesAt).toHaveBeenCalledWith(expect.anything(), 1, 1);
  });

  it('null median without samples; 400 for a reversed range before touching the store', async () => {
    expect((await service.get('org1', {})).responsiveness).toEqual({
      medianFirstResponseMs: null,
      samples: 0,
    });
    await expect(
      service.get('org1', { since: new Date('2026-01-05'), until: new Date('2026-01-01') }),
    ).rejects.toMatchObject({ status: 400, code: 'STATS_RANGE_INVALID' });
  });
});
