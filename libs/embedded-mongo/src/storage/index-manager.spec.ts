import type { Document } from 'bson';
import { Collection } from './collection';
import { discardingRecorder } from './storage-op';

function seeded(): Collection {
  const collection = new Collection('db', 'messages', discardingRecorder);
  collection.createIndex({ key: { sessionId: 1, status: 1, createdAt: 1 } });
  for (let i = 0; i < 1000; i++) {
    collection.insert({
      _id: i,
      sessionId: `s${i % 7}`,
      status: i % 2 ? 'pending' : 'sent',
      createdAt: new Date(i),
    });
  }
  return collection;
}

/** What a full scan would select by equality on the given fields. */
const scan = (collection: Collection, equal: Document) =>
  [...collection.all()].filter((doc) => Object.entries(equal).every(([k, v]) => doc[k] === v))
    .length;

/** How many documents the plan of `filter` reads before filtering (the whole collection for a scan). */
const planned = (collection: Collection, filter: Document) => {
  const { by, slots } = collection.plan(filter);
  return { by, documents: slots ? new Set(slots).size : collection.count };
};

describe('secondary index candidates', () => {
  const index = 'sessionId_1_status_1_createdAt_1';

  it('answers equality on a leading prefix of a compound index with exactly the matching documents', () => {
    const collection = seeded();
    expect(planned(collection, { sessionId: 's3' })).toEqual({
      by: index,
      documents: scan(collection, { sessionId: 's3' }),
    });
    expect(planned(collection, { sessionId: 's3', status: 'pending' })).toEqual({
      by: index,
      documents: scan(collection, { sessionId: 's3', status: 'pending' }),
    });
    const range = {
      sessionId: { $in: ['s1', 's2'] },
      status: 'sent',
      createdAt: { $lte: new Date(500) },
    };
    expect(planned(collection, range)).toEqual({
      by: index,
      documents:
        scan(collection, { sessionId: 's1', status: 'sent' }) +
        scan(collection, { sessionId: 's2', status: 'sent' }),
    });
    // The range on createdAt is then applied to the stored bytes before anything is deserialized.
    expect([...collection.candidates(range)]).toHaveLength(collection.match(range).length);
  });

  it('uses the full key when every field is pinned, and scans when the first field is not', () => {
    const collection = seeded();
    expect(
      planned(collection, { sessionId: 's3', status: 'pending', createdAt: new Date(3) }),
    ).toEqual({ by: index, documents: 1 });
    expect(planned(collection, { status: 'pending' })).toEqual({
      by: 'collection scan',
      documents: 1000,
    });
    expect([...collection.candidates({ status: 'pending' })]).toHaveLength(500);
  });

  it('keeps prefix entries in step with replacements and removals', () => {
    const collection = seeded();
    const pending = collection.match({ sessionId: 's3', status: 'pending' });
    for (const doc of pending.slice(0, 20)) collection.replace(doc, { ...doc, status: 'sent' });
    for (const doc of pending.slice(20, 30)) collection.remove(doc);
    for (const equal of [
      { sessionId: 's3', status: 'pending' },
      { sessionId: 's3', status: 'sent' },
      { sessionId: 's3' },
    ]) {
      expect(planned(collection, equal).documents).toBe(scan(collection, equal));
    }
    expect(scan(collection, { sessionId: 's3', status: 'pending' })).toBe(pending.length - 30);
  });
});
