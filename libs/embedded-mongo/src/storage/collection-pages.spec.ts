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
