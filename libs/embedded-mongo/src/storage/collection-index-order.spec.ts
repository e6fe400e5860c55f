import { Decimal128, Double, Int32, Long, ObjectId, type Document } from 'bson';
import { sortDocuments } from '../query/sort-order';
import { Collection } from './collection';
import type { IndexOrder } from './index-order';
import { discardingRecorder } from './storage-op';

/** What the scan path answers: every match (index equality, then the filter), sorted and paged. */
function scanned(
  collection: Collection,
  filter: Document,
  sort: Document,
  skip: number,
  limit: number,
) {
  return sortDocuments(collection.match(filter), sort)!
    .slice(skip, skip + limit)
    .map((doc) => doc._id as unknown);
}

function paged(
  collection: Collection,
  filter: Document,
  sort: Document,
  skip: number,
  limit: number,
) {
  const slots = collection.firstSlots(filter, {}, sort, skip + limit)!;
  return collection.documentsAt(slots.slice(skip)).map((doc) => doc._id as unknown);
}

/** `paged`, or when the store leaves the page to its caller (Decimal128 sort keys), `scanned`. */
function served(
  collection: Collection,
  filter: Document,
  sort: Document,
  skip: number,
  limit: number,
) {
  const slots = collection.firstSlots(filter, {}, sort, skip + limit);
  if (!slots) return scanned(collection, filter, sort, skip, limit);
  return collection.documentsAt(slots.slice(skip)).map((doc) => doc._id as unknown);
}

/** How many stored documents `run` reads (bytes or decoded). */
function documentsRead(collection: Collection, run: () => unknown): number {
  const store = (collection as unknown as { store: { bytes(slot: number): Buffer } }).store;
  const bytes = vi.spyOn(store, 'bytes');
  run();
  const reads = bytes.mock.calls.length;
  bytes.mockRestore();
  return reads;
}

/** The history route's cursor: older than the anchor, or as old and of a smaller `_id`. */
const olderThan = (anchor: Document) => ({
  $or: [{ at: { $lt: anchor.at } }, { at: anchor.at, _id: { $lt: anchor._id } }],
});
const newerThan = (anchor: Document) => ({
  $or: [{ at: { $gt: anchor.at } }, { at: anchor.at, _id: { $gt: anchor._id } }],
});

describe('Collection: ranges and sorts after an equality prefix read an index order', () => {
  let seed = 11;
  const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
  const pick = <T>(values: T[]): T => values[Math.floor(random() * values.length)];
  const day = Date.UTC(2026, 0, 1);
  // Few distinct times (many ties), ids in no particular order, some times of other types.
  const at = () =>
    random() < 0.03
      ? pick([undefined, null, 7, 'text'])
      : new Date(day + pick([0, 1, 2, 3, 4, 5, 6, 7]) * 1000 * Math.ceil(random() * 40));
  const newDocument = (i: number): Document => ({
    _id: `${Math.floor(random() * 1e9).toString(36)}-${i}`,
    org: pick(['a', 'a', 'a', 'b']),
    chat: pick(['c1', 'c2', 'c3']),
    at: at(),
    text: `message ${i}`,
  });

  function seeded(key: Document): { collection: Collection; documents: Document[] } {
    const collection = new Collection('db', 'messages', discardingRecorder);
    collection.createIndex({ key, name: 'history' });
    const documents = Array.from({ length: 3000 }, (_, i) => newDocument(i));
    for (const document of documents) collection.insert(document);
    return { collection, documents };
  }

  const anchors = (documents: Document[]) =>
    Array.from({ length: 6 }, () => pick(documents)).filter((doc) => doc.at instanceof Date);

  it.each([
    [{ org: 1, at: -1, _id: -1 }],
    [{ org: 1, at: -1 }],
    [{ org: 1, at: 1 }],
    [{ org: 1, chat: 1, at: -1 }],
  ])(
    'on %j: keyset pages, both ways, with skips and counts, as the scan path answers them',
    (key) => {
      const { collection, documents } = seeded(key);
      for (const anchor of anchors(documents)) {
        for (const scope of [{ org: anchor.org }, { org: anchor.org, chat: anchor.chat }]) {
          const cases: Array<[Document, Document]> = [
            [
              { ...scope, $and: [olderThan(anchor)] },
              { at: -1, _id: -1 },
            ],
            [
              { ...scope, ...newerThan(anchor) },
              { at: 1, _id: 1 },
            ],
            [
              { ...scope, at: { $lte: anchor.at } },
              { at: -1, _id: -1 },
            ],
            [
              { ...scope, at: { $gte: anchor.at, $lt: new Date(day + 1e5) } },
              { at: 1, _id: 1 },
            ],
            [scope, { at: -1, _id: -1 }],
            [
              { ...scope, text: { $regex: '1$' }, ...olderThan(anchor) },
              { at: -1, _id: -1 },
            ],
          ];
          for (const [filter, sort] of cases) {
            for (const [skip, limit] of [
              [0, 20],
              [15, 10],
              [0, 3000],
            ])
              expect(paged(collection, filter, sort, skip, limit)).toEqual(
                scanned(collection, filter, sort, skip, limit),
              );
            expect(collection.countMatches(filter)).toBe(collection.match(filter).length);
          }
        }
      }
    },
  );

  it('stays right through writes made after the order was built, and gives way to arrays', () => {
    const { collection, documents } = seeded({ org: 1, at: -1, _id: -1 });
    const anchor = documents.find((doc) => doc.org === 'a' && doc.at instanceof Date)!;
    const filter = { org: 'a', ...olderThan(anchor) };
    const sort = { at: -1, _id: -1 };
    paged(collection, filter, sort, 0, 20); // builds the order
    for (let i = 0; i < 600; i++) {
      const stored = collection.getById(pick(documents)._id);
      if (i % 3 === 1) collection.insert(newDocument(3000 + i));
      else if (stored && i % 3 === 0) collection.remove(stored);
      else if (stored) collection.replace(stored, { ...stored, at: at(), org: pick(['a', 'b']) });
      if (i % 50 === 0) {
        expect(paged(collection, filter, sort, 0, 30)).toEqual(
          scanned(collection, filter, sort, 0, 30),
        );
        expect(collection.countMatches(filter)).toBe(collection.match(filter).length);
      }
    }
    // A time held in an array sorts by its largest element descending: the order steps aside
    // (the page is left to the caller, which decodes and sorts), and the count judges documents.
    collection.insert({ _id: 'multi', org: 'a', at: [new Date(day), new Date(day + 9e9)] });
    expect(collection.firstSlots(filter, {}, sort, 20)).toBeUndefined();
    expect(collection.countMatches(filter)).toBe(collection.match(filter).length);
    collection.remove(collection.getById('multi')!);
    expect(paged(collection, filter, sort, 0, 20)).toEqual(
      scanned(collection, filter, sort, 0, 20),
    );
  });

  it('reads the page and counts its matches without visiting every document of the organization', () => {
    const { collection, documents } = seeded({ org: 1, at: -1, _id: -1 });
    const dated = documents.filter((doc) => doc.org === 'a' && doc.at instanceof Date);
    const anchor = sortDocuments(dated, { at: -1 })![200];
    const filter = { org: 'a', $and: [olderThan(anchor)] };
    const sort = { at: -1, _id: -1 };
    paged(collection, filter, sort, 0, 20); // builds the order
    expect(documentsRead(collection, () => paged(collection, filter, sort, 0, 20))).toBeLessThan(
      150,
    );
    expect(documentsRead(collection, () => collection.countMatches(filter))).toBeLessThan(150);
    expect(documentsRead(collection, () => collection.countMatches({ org: 'a' }))).toBeLessThan(
      100,
    );
    // A condition outside the index: pages still walk the order, counts judge the candidates.
    const inChat = { ...filter, chat: 'c2' };
    expect(documentsRead(collection, () => paged(collection, inChat, sort, 0, 20))).toBeLessThan(
      300,
    );
    expect(paged(collection, inChat, sort, 0, 20)).toEqual(
      scanned(collection, inChat, sort, 0, 20),
    );
    // One document by _id is looked up, not walked to.
    const byId = { org: 'a', _id: dated[dated.length - 1]._id };
    expect(documentsRead(collection, () => paged(collection, byId, sort, 0, 1))).toBeLessThan(5);
  });

  it('gives up walking the order when a condition outside it matches too few, and ranks the candidates', () => {
    const { collection, documents } = seeded({ org: 1, at: -1, _id: -1 });
    const sort = { at: -1, _id: -1 };
    paged(collection, { org: 'a' }, sort, 0, 20); // builds the order
    const order = (collection as unknown as { orders: Map<string, IndexOrder> }).orders.get(
      'history',
    )!;
    const between = order.between.bind(order);
    let walked = 0;
    vi.spyOn(order, 'between').mockImplementation(function* (start, end, reverse) {
      for (const slot of between(start, end, reverse)) yield (walked++, slot);
    });
    const candidates = documents.filter((doc) => doc.org === 'a').length;
    // A read in key order jumps about the stored documents: a whole organization is read faster
    // in stored order when the page may need all of it (a rare search term).
    const rare = { org: 'a', text: { $regex: 'message 1234$' } };
    expect(paged(collection, rare, sort, 0, 20)).toEqual(scanned(collection, rare, sort, 0, 20));
    expect(walked).toBeLessThanOrEqual(candidates / 8 + 1);
    walked = 0;
    const common = { org: 'a', text: { $regex: '1$' } }; // one in ten: the walk finds its page
    expect(paged(collection, common, sort, 0, 20)).toEqual(
      scanned(collection, common, sort, 0, 20),
    );
    expect(walked).toBeLessThan(400);
  });

  it.each([[{ org: 1, at: 1 }], [{ org: -1, at: -1, _id: 1 }]])(
    'on %j over values of every kind: keyset pages, ranges, equalities and counts, as the scan path answers them',
    (key) => {
      // Numbers of each type (equal values across types), strings past U+FFFF and in U+E000-U+FFFF
      // (UTF-16 and code point order disagree there), dates, ObjectIds, null, missing, booleans.
      const values = [
        ...[undefined, null, -1, 0, 1, 1.5, new Long(1), new Int32(2), new Double(2), 7],
        ...['1', '1.0000000000000000000001', '0.9999999999999999999999'].map((text) =>
          Decimal128.fromString(text),
        ),
        ...['', 'a', 'B', '\uFF21', 'a\uFF21', '😀', 'a😀', 'a😀b', '\uFFFF'],
        ...[new Date(day), new Date(day + 1), new ObjectId(), new ObjectId(), true, false],
      ];
      const collection = new Collection('db', 'messages', discardingRecorder);
      collection.createIndex({ key, name: 'history' });
      const ids = [() => new ObjectId(), () => Math.floor(random() * 1e6), () => `k${random()}`];
      for (let i = 0; i < 2500; i++) {
        const document: Document = { _id: pick(ids)(), org: pick(['a', 'a', 'b']) };
        const value = pick(values);
        if (value !== undefined) document.at = value;
        collection.insert(document);
      }
      const check = (anchors: number) => {
        const documents = collection.match({});
        for (const anchor of Array.from({ length: anchors }, () => pick(documents))) {
          const value = anchor.at ?? null;
          const cases: Array<[Document, Document]> = [
            [
              { org: anchor.org, $and: [olderThan({ ...anchor, at: value })] },
              { at: -1, _id: -1 },
            ],
            [
              { org: anchor.org, ...newerThan({ ...anchor, at: value }) },
              { at: 1, _id: 1 },
            ],
            [
              { org: anchor.org, at: { $gte: value } },
              { org: 1, at: 1, _id: 1 },
            ],
            [
              { org: anchor.org, at: { $lt: value } },
              { org: -1, at: -1, _id: -1 },
            ],
            [
              { org: anchor.org, at: value },
              { at: -1, _id: -1 },
            ],
            [{ org: anchor.org }, { at: 1, _id: 1 }],
          ];
          for (const [filter, sort] of cases) {
            const all = scanned(collection, filter, sort, 0, Infinity);
            for (const [skip, limit] of [
              [0, 20],
              [7, 30],
              [0, 3000],
            ])
              expect(served(collection, filter, sort, skip, limit)).toEqual(
                all.slice(skip, skip + limit),
              );
            expect(collection.countMatches(filter)).toBe(all.length);
          }
        }
      };
      check(6);
      // Writes moving keys across types, unsetting them, arrays coming and going, refused inserts.
      for (const phase of ['with arrays', 'without']) {
        const known = collection.match({}, {}, new Set(['_id'])).map((doc) => doc._id as unknown);
        for (let i = 0; i < 300; i++) {
          const stored = collection.getById(pick(known));
          if (!stored) continue; // removed already
          const { at: _, ...unset } = stored;
          const r = random();
          if (r < 0.15) collection.remove(stored);
          else if (r < 0.3) collection.insert({ _id: pick(ids)(), org: 'a', at: pick(values) });
          else if (r < 0.35) expect(() => collection.insert(stored)).toThrow(/E11000/);
          else if (r < 0.45) collection.replace(stored, unset);
          else if (r < 0.5 && phase === 'with arrays')
            collection.replace(stored, { ...stored, at: [pick(values), pick(values)] });
          else if (r < 0.6) collection.replace(stored, { ...stored, org: pick(['a', 'b']) });
          else collection.replace(stored, { ...stored, at: pick(values) });
        }
        if (phase === 'with arrays')
          for (const stored of collection.match({ at: { $type: 'array' } }))
            collection.replace(stored, { ...stored, at: stored.at[0] });
        check(3);
      }
    },
  );
});
