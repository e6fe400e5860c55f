import {
  bucketId,
  bucketsOf,
  createdIncrement,
  deliveryRates,
  emptyByStatus,
  isConversational,
  isForwardTransition,
  locateMedian,
  median,
  medianOfWindow,
  medianWindow,
  normalizeFailureReason,
  normalizeType,
  responseBin,
  sumCounters,
  topFailureReasons,
  transitionIncrement,
} from './stats-counters';

describe('bucket math', () => {
  it('counts a message in its hour and day bucket with deterministic ids', () => {
    const [hour, day] = bucketsOf(new Date('2026-01-05T13:45:00Z'));
    expect(hour).toEqual({
      granularity: 'hour',
      start: new Date('2026-01-05T13:00:00Z'),
      day: '2026-01-05',
    });
    expect(day).toEqual({
      granularity: 'day',
      start: new Date('2026-01-05T00:00:00Z'),
      day: '2026-01-05',
    });
    expect(bucketId('hour', 'org1', 's1', hour.start)).toBe(
      'hour|org1|s1|2026-01-05T13:00:00.000Z',
    );
  });

  it('created: outgoing counts sent + status, incoming counts received; both count the type', () => {
    expect(createdIncrement({ direction: 'out', status: 'pending', type: 'text' })).toEqual({
      sent: 1,
      'byStatus.pending': 1,
      'byType.text': 1,
    });
    expect(createdIncrement({ direction: 'in', status: 'delivered', type: 'image' })).toEqual({
      received: 1,
      'byType.image': 1,
    });
    expect(createdIncrement({ direction: 'in', status: 'read', type: 'weird' })).toEqual({
      received: 1,
      'byType.unknown': 1,
    });
  });

  it('a transition moves one message between statuses', () => {
    expect(transitionIncrement('sent', 'read')).toEqual({
      'byStatus.sent': -1,
      'byStatus.read': 1,
    });
    expect(transitionIncrement('read', 'read')).toEqual({});
  });

  it('forward transitions follow the messaging rank (failed only from pending)', () => {
    expect(isForwardTransition('pending', 'sent')).toBe(true);
    expect(isForwardTransition('sent', 'read')).toBe(true);
    expect(isForwardTransition('read', 'delivered')).toBe(false);
    expect(isForwardTransition('sent', 'failed')).toBe(false);
    expect(isForwardTransition('pending', 'failed')).toBe(true);
    expect(isForwardTransition('failed', 'sent')).toBe(false);
  });

  it('sums bucket rows into zero-filled totals', () => {
    const totals = sumCounters([
      { sent: 2, received: 1, byStatus: { sent: 1, read: 1 }, byType: { text: 3 } },
      { received: 4, byType: { image: 1, text: 3 } },
      {},
    ]);
    expect(totals.total).toBe(7);
    expect(totals.sent).toBe(2);
    expect(totals.received).toBe(5);
    expect(totals.byStatus).toEqual({
      pending: 0,
      sent: 1,
      delivered: 0,
      read: 1,
      played: 0,
      failed: 0,
    });
    expect(totals.byType.text).toBe(6);
    expect(totals.byType.image).toBe(1);
    expect(totals.byType.poll).toBe(0);
  });

  it('normalizes types and failure reasons', () => {
    expect(normalizeType('voice')).toBe('voice');
    expect(normalizeType(undefined)).toBe('unknown');
    expect(normalizeFailureReason('  Session \n not   connected ')).toBe('Session not connected');
    expect(normalizeFailureReason(undefined)).toBe('unknown');
    expect(normalizeFailureReason('x'.repeat(500))).toHaveLength(200);
  });

  it('conversational: no reactions/edits/revokes, no broadcasts', () => {
    expect(isConversational({ type: 'text', chatJid: '1@s.whatsapp.net' })).toBe(true);
    expect(isConversational({ type: 'image', chatJid: '1-2@g.us' })).toBe(true);
    expect(isConversational({ type: 'reaction', chatJid: '1@s.whatsapp.net' })).toBe(false);
    expect(isConversational({ type: 'text', chatJid: 'status@broadcast' })).toBe(false);
  });
});

describe('rates', () => {
  it('delivery and read rates over outgoing messages that left pending', () => {
    const byStatus = {
      ...emptyByStatus(),
      pending: 5,
      sent: 1,
      delivered: 2,
      read: 3,
      played: 1,
      failed: 1,
    };
    // attempted = 1 + 2 + 3 + 1 + 1 = 8; delivered+ = 6; read+ = 4
    expect(deliveryRates(byStatus)).toEqual({ deliveryRate: 0.75, readRate: 0.5 });
    expect(deliveryRates({ ...emptyByStatus(), delivered: 1, sent: 2 })).toEqual({
      deliveryRate: 0.3333,
      readRate: 0,
    });
    expect(deliveryRates(emptyByStatus())).toEqual({ deliveryRate: 0, readRate: 0 });
  });

  it('top failure reasons merge buckets, sort by count then reason, keep 5', () => {
    const rows = [
      { reason: 'b', count: 2 },
      { reason: 'a', count: 1 },
      { reason: 'b', count: 1 },
      { reason: 'c', count: 3 },
      { reason: 'd', count: 1 },
      { reason: 'e', count: 1 },
      { reason: 'f', count: 1 },
      { reason: 'zero', count: 0 },
    ];
    expect(topFailureReasons(rows)).toEqual([
      { reason: 'b', count: 3 },
      { reason: 'c', count: 3 },
      { reason: 'a', count: 1 },
      { reason: 'd', count: 1 },
      { reason: 'e', count: 1 },
    ]);
  });
});

describe('median', () => {
  it('selects the middle one (odd) or two (even) sorted values', () => {
    expect(medianWindow(0)).toBeUndefined();
    expect(medianWindow(1)).toEqual({ skip: 0, take: 1 });
    expect(medianWindow(5)).toEqual({ skip: 2, take: 1 });
    expect(medianWindow(4)).toEqual({ skip: 1, take: 2 });
    expect(medianOfWindow([])).toBeNull();
    expect(medianOfWindow([7])).toBe(7);
    expect(medianOfWindow([10, 21])).toBe(16); // 15.5 rounded to whole ms
  });

  it('response bins: 0 under 1 s, 4 per doubling, capped', () => {
    expect(responseBin(0)).toBe(0);
    expect(responseBin(999)).toBe(0);
    expect(responseBin(1000)).toBe(1);
    expect(responseBin(2000)).toBe(5);
    expect(responseBin(45 * 60_000)).toBe(46); // 1 + floor(4 · log2(2700))
    expect(responseBin(1e12)).toBe(80);
    for (let ms = 1; ms < 1e9; ms = Math.ceil(ms * 1.07))
      expect(responseBin(ms)).toBeLessThanOrEqual(responseBin(ms * 1.07));
  });

  it('locates the median rank(s) in a histogram', () => {
    expect(locateMedian({})).toEqual({ samples: 0, picks: [] });
    expect(locateMedian({ 3: 1 })).toEqual({ samples: 1, picks: [{ bin: 3, offset: 0 }] });
    expect(locateMedian({ 1: 2, 10: 3, 4: 0 })).toEqual({
      samples: 5,
      picks: [{ bin: 10, offset: 0 }],
    });
    expect(locateMedian({ 1: 2, 10: 2 })).toEqual({
      samples: 4,
      picks: [
        { bin: 1, offset: 1 },
        { bin: 10, offset: 0 },
      ],
    });
    expect(locateMedian({ 9: 10 })).toEqual({
      samples: 10,
      picks: [
        { bin: 9, offset: 4 },
        { bin: 9, offset: 5 },
      ],
    });
  });

  it('histogram location + per-bin sorted reads equal the reference median', () => {
    const values = Array.from({ length: 999 }, (_, i) =>
      Math.round(500 * Math.exp(((i * 7919) % 999) / 90)),
    );
    for (const n of [1, 2, 3, 10, 11, 998, 999]) {
      const subset = values.slice(0, n);
      const histogram: Record<string, number> = {};
      const byBin = new Map<number, number[]>();
      for (const v of subset) {
        const bin = responseBin(v);
        histogram[bin] = (histogram[bin] ?? 0) + 1;
        byBin.set(bin, [...(byBin.get(bin) ?? []), v]);
      }
      const { picks } = locateMedian(histogram);
      const middle = picks.map((p) => [...byBin.get(p.bin)!].sort((a, b) => a - b)[p.offset]);
      expect(medianOfWindow(middle)).toBe(median(subset));
    }
  });

  it('matches a reference median', () => {
    expect(median([])).toBeNull();
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(3); // (2 + 3) / 2 = 2.5 → 3
    const values = Array.from({ length: 101 }, (_, i) => (i * 37) % 101);
    expect(median(values)).toBe(50);
  });
});
