import { Decimal128, Long, ObjectId, type Document } from 'bson';
import { Collection } from './collection';
import { valuesAtPath } from './index-key';
import { SecondaryIndex, type IndexSpec } from './index-manager';
import { hashKey } from './posting-map';
import { discardingRecorder } from './storage-op';
import { seededRandom as random } from '../../test/seeded-random';

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

/**
 * The keys as they were computed before the multikey path was rewritten: every combination of
 * the fields' values, each key where first seen with the values of its last combination. The
 * rewrite must yield exactly these.
 */
function referenceEntries(index: SecondaryIndex, document: Document) {
  if (
    index.spec.sparse &&
    index.fields.every((f) => valuesAtPath(document, f).every((v) => v === undefined))
  )
    return [];
  let combos = [{ key: '', values: [] as unknown[], parts: [] as string[] }];
  for (const values of index.fields.map((field) => valuesAtPath(document, field))) {
    combos = combos.flatMap((combo) =>
      values.map((value) => ({
        key: combo.key + index.partKey(value),
        values: [...combo.values, value],
        parts: [...combo.parts, index.partKey(value)],
      })),
    );
  }
  const unique = [...new Map(combos.map((c) => [c.key, c])).values()];
  return unique.map((combo) => ({ ...combo, hash: hashKey(combo.key) }));
}

describe('index entries of multikey documents', () => {
  const next = random(7);
  const pick = <T>(items: T[]): T => items[Math.floor(next() * items.length)];
  // Values whose keys coincide across types (1, 1.0 as Long, Decimal128 '1.0'), repeat, or nest.
  const scalars = [
    1,
    Long.fromNumber(1),
    Decimal128.fromString('1.0'),
    2,
    'a',
    'A',
    's12:',
    '',
    null,
    true,
    new Date(5),
    new ObjectId('64b7f0c2a1b2c3d4e5f60718'),
  ];
  const value = (depth = 0): unknown => {
    const roll = next();
    if (roll < 0.15) return undefined;
    if (roll < 0.4 && depth < 2)
      return Array.from({ length: Math.floor(next() * 5) }, () => value(depth + 1));
    if (roll < 0.5 && depth < 2) return { b: value(depth + 1), c: pick(scalars) };
    return pick(scalars);
  };
  const specs: Array<Partial<IndexSpec>> = [
    { key: { a: 1 } },
    { key: { org: 1, a: 1 } },
    { key: { a: 1, org: -1 } },
    { key: { org: 1, a: 1, d: 1 } },
    { key: { org: 1, 'a.b': 1 } },
    { key: { org: 1, a: 1 }, sparse: true },
    { key: { a: 1 }, collation: { locale: 'en', strength: 2 } },
  ];

  it('are the combinations of the fields’ values, each key once, as the general expansion yields them', () => {
    for (const [i, spec] of specs.entries()) {
      const index = new SecondaryIndex({ v: 2, name: `i${i}`, ...spec } as IndexSpec);
      for (let n = 0; n < 400; n++) {
        const document: Document = { _id: n, org: pick(['x', 'y']) };
        for (const field of ['a', 'd']) {
          const v = value();
          if (v !== undefined) document[field] = v;
        }
        expect(index.entriesFor(document), JSON.stringify(document)).toEqual(
          referenceEntries(index, document),
        );
      }
    }
  });
});
