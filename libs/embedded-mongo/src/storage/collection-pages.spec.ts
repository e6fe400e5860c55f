import type { Document } from 'bson';
import { compileFilter } from '../query/mingo-options';
import { Collection } from './collection';
import { discardingRecorder } from './storage-op';

/** What the generic path answers: every match decoded, then mingo sorts (stable) and pages. */
function mingoPage(
  collection: Collection,
  filter: Document,
  sort: Document,
  skip: number,
  limit: number,
) {
  return compileFilter({}).find(collection.match(filter)).sort(sort).skip(skip).limit(limit).all();
}

const page = (
  collection: Collection,
  filter: Document,
  sort: Document,
  skip: number,
  limit: number,
) => collection.documentsAt(collection.firstSlots(filter, {}, sort, skip + limit)!.slice(skip));

describe('Collection.firstSlots (sorted pages read from stored bytes)', () => {
  const collection = new Collection('db', 'pages', discardingRecorder);
  const day = Date.UTC(2026, 0, 1);
  beforeAll(() => {
    collection.createIndex({ key: { org: 1, at: -1 }, name: 'org_at' });
    // Many ties (at repeats every 7, rank every 3) so the order among equals is exercised too.
    for (let i = 0; i < 400; i++)
      collection.insert({
        _id: `m${String(i).padStart(4, '0')}`,
        org: i % 4 === 0 ? 'b' : 'a',
        at: new Date(day + (i % 7) * 60_000),
        rank: i % 3,
        label: i % 5 === 0 ? null : `L${i % 11}`,
        text: `message ${i}`,
      });
  });

  it.each([
    [{ org: 'a' }, { at: -1 }, 0, 20],
    [{ org: 'a' }, { at: -1, _id: -1 }, 40, 25],
    [{ org: 'a' }, { rank: 1, at: -1 }, 0, 50],
    [{ org: 'a' }, { label: 1 }, 10, 30],
    [{ org: 'a' }, { label: -1, rank: 1 }, 0, 400],
    [{ org: 'a', text: { $regex: '1$' } }, { at: 1 }, 0, 15],
    [{ $or: [{ rank: 0 }, { org: 'b' }] }, { at: -1, rank: -1 }, 5, 20],
    [{}, { missing: 1, at: 1 }, 0, 10],
  ])(
    '%j sorted %j, skip %i limit %i: the same documents, in the same order, as mingo',
    (filter, sort, skip, limit) => {
      expect(page(collection, filter, sort, skip, limit)).toEqual(
        mingoPage(collection, filter, sort, skip, limit),
      );
    },
  );

  it('stops after the first matches when there is no sort', () => {
    expect(collection.firstSlots({ org: 'b' }, {}, undefined, 3)).toHaveLength(3);
    expect(collection.firstSlots({ org: 'none' }, {}, undefined, 3)).toEqual([]);
  });

  it('declines sorts it cannot read from the bytes', () => {
    const nested = new Collection('db', 'nested', discardingRecorder);
    nested.insert({ _id: 1, tags: ['b', 'a'], meta: { n: 2 } });
    nested.insert({ _id: 2, tags: 'c', meta: { n: 1 } });
    expect(nested.firstSlots({}, {}, { tags: 1 }, 1)).toBeUndefined(); // an array value
    expect(nested.firstSlots({}, {}, { 'meta.n': 1 }, 1)).toBeUndefined(); // a dotted path
    expect(nested.firstSlots({}, {}, { score: { $meta: 'textScore' } }, 1)).toBeUndefined();
  });

  it('counts matches without decoding them, as match does', () => {
    for (const filter of [
      {},
      { org: 'a' },
      { org: 'a', rank: 2 },
      { text: { $regex: '7' } },
      { org: 'x' },
    ])
      expect(collection.countMatches(filter)).toBe(collection.match(filter).length);
  });
});

describe('Collection: _id ranges read the _id order', () => {
  const collection = new Collection('db', 'ranges', discardingRecorder);
  const id = (i: number) => `m${String(i).padStart(5, '0')}`;
  beforeAll(() => {
    collection.createIndex({ key: { session: 1, status: 1 }, name: 'session_status' });
    for (let i = 0; i < 5000; i++)
      collection.insert({ _id: id(i), session: `s${i % 4}`, status: 'sent', n: i });
  });

  /** How many stored documents `run` reads (bytes or decoded). */
  function documentsRead(run: () => unknown): number {
    const store = (collection as unknown as { store: object }).store;
    const bytes = vi.spyOn(store as { bytes(slot: number): Buffer }, 'bytes');
    run();
    const reads = bytes.mock.calls.length;
    bytes.mockRestore();
    return reads;
  }

  it('narrows a two-sided range to its documents', () => {
    const plan = collection.plan({ _id: { $gt: id(1000), $lt: id(1101) } });
    expect(plan.by).toBe('_id_');
    expect([...plan.slots!]).toHaveLength(100);
    expect(collection.plan({ session: 's1', _id: { $gte: id(4990) } }).by).toBe('_id_');
    expect(collection.plan({ session: 's1', _id: { $gte: id(10) } }).by).toBe('session_status');
  });

  it('reads a page sorted by _id after a cursor, not every candidate', () => {
    const filter = { session: 's1', _id: { $lt: id(2501) } };
    let slots: number[] | undefined;
    const read = documentsRead(() => (slots = collection.firstSlots(filter, {}, { _id: -1 }, 20)));
    expect(collection.documentsAt(slots!).map((doc) => doc._id)).toEqual(
      Array.from({ length: 20 }, (_, k) => id(2497 - 4 * k)),
    );
    expect(read).toBeLessThan(200); // the page's walk and the bounds' searches, of 5,000
    const newest = documentsRead(() => collection.firstSlots({}, {}, { _id: 1 }, 5));
    expect(newest).toBeLessThan(50); // first documents of 5,000
  });

  it('keeps the order through writes made after it was built', () => {
    collection.firstSlots({ _id: { $gt: id(0) } }, {}, { _id: 1 }, 1); // built by now
    collection.insert({ _id: 'a-first', session: 's1', status: 'sent', n: -1 });
    collection.remove({ _id: id(2497) });
    collection.insert({ _id: `${id(2497)}x`, session: 's1', status: 'sent', n: 2497 });
    const page = collection.firstSlots(
      { session: 's1', _id: { $lt: id(2501) } },
      {},
      { _id: -1 },
      3,
    );
    expect(collection.documentsAt(page!).map((doc) => doc._id)).toEqual([
      `${id(2497)}x`,
      id(2493),
      id(2489),
    ]);
    const before1 = collection.match({ _id: { $lt: id(1) } }).map((doc) => doc._id);
    expect(new Set(before1)).toEqual(new Set(['a-first', id(0)]));
  });
});
