import { type MarkedIncrement, markedBucketUpserts, markedFailureUpserts } from './counter-marks';

const at = (h: number, m: number) => new Date(Date.UTC(2026, 0, 5, h, m));
const item = (over: Partial<MarkedIncrement> & Pick<MarkedIncrement, 'at' | 'marker'>) => ({
  organizationId: 'o',
  sessionName: 's',
  inc: {},
  ...over,
});

describe('markedBucketUpserts', () => {
  it('folds changes into one upsert per hour and day bucket, keeping each marker and its part', () => {
    const docs = markedBucketUpserts([
      item({ at: at(13, 1), inc: { received: 1, 'byType.text': 1 }, marker: 'note:a' }),
      item({ at: at(13, 59), inc: { received: 1, 'byType.image': 1 }, marker: 'note:a' }),
      item({ at: at(14, 0), inc: { sent: 1 }, marker: 'm1:created' }),
      item({ sessionName: 'other', at: at(13, 2), inc: { sent: 1 }, marker: 'm2:created' }),
      item({ at: at(15, 0), inc: {}, marker: 'm3:sent' }),
    ]);
    const byId = Object.fromEntries(docs.map((d) => [d._id, d]));
    expect(Object.keys(byId).sort()).toEqual([
      'day|o|other|2026-01-05T00:00:00.000Z',
      'day|o|s|2026-01-05T00:00:00.000Z',
      'hour|o|other|2026-01-05T13:00:00.000Z',
      'hour|o|s|2026-01-05T13:00:00.000Z',
      'hour|o|s|2026-01-05T14:00:00.000Z',
    ]);
    expect(byId['hour|o|s|2026-01-05T13:00:00.000Z']).toMatchObject({
      inc: { received: 2, 'byType.text': 1, 'byType.image': 1 },
      markers: ['note:a'],
    });
    expect(byId['day|o|s|2026-01-05T00:00:00.000Z']).toMatchObject({
      setOnInsert: { granularity: 'day', day: '2026-01-05', bucket: at(0, 0) },
      inc: { received: 2, 'byType.text': 1, 'byType.image': 1, sent: 1 },
      markers: ['note:a', 'm1:created'],
      parts: [
        { marker: 'note:a', inc: { received: 2, 'byType.text': 1, 'byType.image': 1 } },
        { marker: 'm1:created', inc: { sent: 1 } },
      ],
    });
  });
});

describe('markedFailureUpserts', () => {
  it('counts each reason once per change in its hour and day document', () => {
    const docs = markedFailureUpserts([
      item({ at: at(13, 1), reason: 'Session not connected', marker: 'm1:failed' }),
      item({ at: at(13, 5), reason: 'Session not connected', marker: 'm2:failed' }),
      item({ at: at(13, 6), marker: 'm3:sent' }),
    ]);
    expect(docs.map((d) => [d._id, d.inc, d.markers])).toEqual([
      [
        'hour|o|s|2026-01-05T13:00:00.000Z|Session not connected',
        { count: 2 },
        ['m1:failed', 'm2:failed'],
      ],
      [
        'day|o|s|2026-01-05T00:00:00.000Z|Session not connected',
        { count: 2 },
        ['m1:failed', 'm2:failed'],
      ],
    ]);
  });
});
