import { deserialize, ObjectId, serialize } from 'bson';
import { Collection } from './collection';
import { encodeOperation } from './journal';
import { sameValue } from './index-manager';
import { hashKey } from './posting-map';
import { canonicalKey } from './index-key';
import { discardingRecorder, type StorageOp } from './storage-op';

// Two strings whose canonical keys share a 32-bit hash (found by search; asserted below).
const [A, B] = ['id-aa1j12', 'id-8oxb8'];

describe('Collection with hashed keys', () => {
  it('uses a colliding pair for these tests', () => {
    expect(hashKey(canonicalKey(A))).toBe(hashKey(canonicalKey(B)));
  });

  it('tells apart _ids whose hashes collide', () => {
    const collection = new Collection('db', 'c', discardingRecorder);
    collection.insert({ _id: A, n: 1 });
    collection.insert({ _id: B, n: 2 });
    expect(() => collection.insert({ _id: B, n: 3 })).toThrow(/E11000/);
    expect(collection.getById(A)).toEqual({ _id: A, n: 1 });
    expect(collection.match({ _id: B })).toEqual([{ _id: B, n: 2 }]);
    collection.remove({ _id: A, n: 1 });
    expect(collection.getById(A)).toBeUndefined();
    expect(collection.getById(B)).toEqual({ _id: B, n: 2 });
  });

  it('enforces a unique index on real keys, not on their hashes', () => {
    const collection = new Collection('db', 'c', discardingRecorder);
    collection.createIndex({ key: { key: 1 }, unique: true, name: 'key_1' });
    collection.insert({ _id: 1, key: A });
    collection.insert({ _id: 2, key: B });
    expect(() => collection.insert({ _id: 3, key: B })).toThrow(/E11000.*key_1/);
    expect(collection.match({ key: A }).map((doc) => doc._id)).toEqual([1]);
    const [doc] = collection.match({ key: B });
    collection.replace(doc, { ...doc, key: 'other' });
    collection.insert({ _id: 4, key: B });
    expect(collection.match({ key: B }).map((d) => d._id)).toEqual([4]);
  });

  it('journals the bytes it stored, framed like a serialized put', () => {
    const operations: StorageOp[] = [];
    const collection = new Collection('db', 'cöll', {
      record: (op) => operations.push(op),
      commit: () => undefined,
    });
    collection.insert({ _id: 1, at: new Date(3), list: [1, { a: 'x' }] });
    const [put] = operations as Array<Extract<StorageOp, { op: 'put' }>>;
    const { bytes: _bytes, ...plain } = put;
    expect(Buffer.from(encodeOperation(put))).toEqual(Buffer.from(serialize(plain)));
    expect(deserialize(encodeOperation(put))).toEqual(deserialize(serialize(plain)));
  });

  it('streams only the requested fields, whether the bytes or the filter decide the match', () => {
    const collection = new Collection('db', 'c', discardingRecorder);
    collection.insert({ _id: 1, a: 1, b: 'x', c: 10 }); // decided on its bytes
    collection.insert({ _id: 2, a: [0, 1], b: 'x', c: 20 }); // array: the filter decides
    collection.insert({ _id: 3, a: 2, b: 'x', c: 30 });
    collection.insert({ _id: 4, a: [2], b: 'x', c: 40 });
    const fields = new Set(['c']);
    expect([...collection.stream({ a: 1, b: 'x' }, {}, fields)]).toEqual([{ c: 10 }, { c: 20 }]);
    expect([...collection.stream({ $or: [{ a: 2 }] }, {}, fields)]).toEqual([{ c: 30 }, { c: 40 }]);
    expect([...collection.stream({ a: 2 }, {}, new Set())]).toEqual([{}, {}]);
    expect(collection.match({ b: 'x' }, {}, new Set(['_id', 'b']))[1]).toEqual({ _id: 2, b: 'x' });
  });
});

describe('Collection planning with sparse and partial indexes', () => {
  const messages = () => {
    const collection = new Collection('db', 'messages', discardingRecorder);
    collection.createIndex({
      key: { sessionId: 1, waMessageId: 1 },
      name: 'sessionId_1_waMessageId_1',
      unique: true,
      partialFilterExpression: { waMessageId: { $exists: true } },
    });
    collection.insert({ _id: 1, sessionId: 's', waMessageId: 'w1' });
    collection.insert({ _id: 2, sessionId: 's' }); // not in the partial index
    return collection;
  };

  it('uses a partial index when the filter implies its expression', () => {
    const collection = messages();
    expect(collection.plan({ sessionId: 's', waMessageId: 'w1' }).by).toBe(
      'sessionId_1_waMessageId_1',
    );
    expect(collection.match({ sessionId: 's', waMessageId: 'w1' }).map((d) => d._id)).toEqual([1]);
    expect(collection.plan({ sessionId: 's', waMessageId: { $in: ['w1', 'w2'] } }).by).toBe(
      'sessionId_1_waMessageId_1',
    );
  });

  it('scans when the partial index may miss matching documents', () => {
    const collection = messages();
    // A prefix alone, or an equality to null, also matches documents the index does not hold.
    expect(collection.plan({ sessionId: 's' }).by).toBe('collection scan');
    expect(collection.match({ sessionId: 's' }).map((d) => d._id)).toEqual([1, 2]);
    expect(collection.plan({ sessionId: 's', waMessageId: null }).by).toBe('collection scan');
    expect(collection.match({ sessionId: 's', waMessageId: null }).map((d) => d._id)).toEqual([2]);
  });

  it('uses a partial index with an equality expression only for the same value', () => {
    const collection = new Collection('db', 'c', discardingRecorder);
    collection.createIndex({ key: { a: 1 }, name: 'a_1', partialFilterExpression: { kind: 'x' } });
    collection.insert({ _id: 1, a: 1, kind: 'x' });
    collection.insert({ _id: 2, a: 1, kind: 'y' });
    expect(collection.plan({ a: 1, kind: 'x' }).by).toBe('a_1');
    expect(collection.match({ a: 1, kind: 'x' }).map((d) => d._id)).toEqual([1]);
    expect(collection.plan({ a: 1, kind: 'y' }).by).toBe('collection scan');
    expect(collection.match({ a: 1 }).map((d) => d._id)).toEqual([1, 2]);
  });

  it('uses a sparse index only when the filter pins an indexed field to a non-null value', () => {
    const collection = new Collection('db', 'c', discardingRecorder);
    collection.createIndex({ key: { email: 1 }, name: 'email_1', sparse: true });
    collection.insert({ _id: 1, email: 'a@x' });
    collection.insert({ _id: 2 });
    expect(collection.plan({ email: 'a@x' }).by).toBe('email_1');
    expect(collection.plan({ email: null }).by).toBe('collection scan');
    expect(collection.match({ email: null }).map((d) => d._id)).toEqual([2]);
  });
});

describe('Collection.replace index upkeep', () => {
  const planned = (collection: Collection, filter: object) => collection.plan(filter).by;

  it('keeps the index entries of fields an update left alone, and moves the ones it changed', () => {
    const collection = new Collection('db', 'c', discardingRecorder);
    collection.createIndex({ key: { jid: 1, 'tags.name': 1 }, name: 'jid_tags' });
    collection.createIndex({ key: { at: 1 }, name: 'at_1' });
    const stored = { _id: 1, jid: 'a', tags: [{ name: 'x' }], at: new Date(5), n: 0 };
    collection.insert(stored);
    collection.replace(stored, { ...stored, tags: [{ name: 'x' }], at: new Date(5), n: 1 });
    expect(collection.match({ jid: 'a', 'tags.name': 'x' }).map((d) => d.n)).toEqual([1]);
    expect(collection.match({ at: new Date(5) }).map((d) => d.n)).toEqual([1]);

    const [current] = collection.match({ _id: 1 });
    collection.replace(current, { ...current, tags: [{ name: 'y' }], at: new Date(6) });
    expect(planned(collection, { jid: 'a', 'tags.name': 'x' })).toBe('jid_tags');
    expect(collection.match({ jid: 'a', 'tags.name': 'x' })).toEqual([]);
    expect(collection.match({ jid: 'a', 'tags.name': 'y' }).map((d) => d._id)).toEqual([1]);
    expect(collection.match({ at: new Date(5) })).toEqual([]);
    expect(collection.match({ at: new Date(6) }).map((d) => d._id)).toEqual([1]);
  });

  it('moves a document in or out of a partial index when the filtered field changes', () => {
    const collection = new Collection('db', 'c', discardingRecorder);
    collection.createIndex({
      key: { key: 1 },
      name: 'key_open',
      unique: true,
      partialFilterExpression: { open: true },
    });
    const first = { _id: 1, key: 'k', open: true };
    collection.insert(first);
    expect(() => collection.insert({ _id: 2, key: 'k', open: true })).toThrow(/E11000/);
    collection.replace(first, { ...first, open: false });
    collection.insert({ _id: 2, key: 'k', open: true }); // the closed one left the index
    const [closed] = collection.match({ _id: 1 });
    expect(() => collection.replace(closed, { ...closed, open: true })).toThrow(/E11000/);
  });

  it('still enforces uniqueness when an update changes a unique field', () => {
    const collection = new Collection('db', 'c', discardingRecorder);
    collection.createIndex({ key: { key: 1 }, unique: true, name: 'key_1' });
    collection.insert({ _id: 1, key: 'a' });
    const second = { _id: 2, key: 'b' };
    collection.insert(second);
    expect(() => collection.replace(second, { ...second, key: 'a' })).toThrow(/E11000/);
    expect(collection.match({ key: 'b' }).map((d) => d._id)).toEqual([2]);
  });
});

describe('sameValue', () => {
  it('is strict structural equality over BSON values', () => {
    expect(sameValue(new Date(1), new Date(1))).toBe(true);
    expect(sameValue(new Date(1), new Date(2))).toBe(false);
    expect(
      sameValue(new ObjectId('0123456789abcdef01234567'), new ObjectId('0123456789abcdef01234567')),
    ).toBe(true);
    expect(sameValue([1, { a: 'x' }], [1, { a: 'x' }])).toBe(true);
    expect(sameValue([1, { a: 'x' }], [1, { a: 'y' }])).toBe(false);
    expect(sameValue({ a: 1, b: 2 }, { b: 2, a: 1 })).toBe(false); // field order is part of a key
    expect(sameValue([1], { 0: 1 })).toBe(false);
    expect(sameValue(null, undefined)).toBe(false);
    expect(sameValue(undefined, undefined)).toBe(true);
  });
});

describe('Collection prefix postings shared between indexes', () => {
  const indexNamed = (collection: Collection, name: string) =>
    [...collection.secondaryIndexes()].find((index) => index.spec.name === name)!;
  const ids = (collection: Collection, filter: object) =>
    collection
      .match(filter)
      .map((d) => d._id as number)
      .sort((a, b) => a - b);

  it('keeps one posting per leading fields, kept up by one index, handed over when it is dropped', () => {
    const collection = new Collection('db', 'c', discardingRecorder);
    collection.createIndex({ key: { org: 1, at: -1 }, name: 'org_at' });
    collection.insert({ _id: 1, org: 'a', at: 1, tag: 'x' });
    collection.createIndex({ key: { org: 1, tag: 1 }, name: 'org_tag' }); // built over a document
    collection.createIndex({ key: { org: 1, n: 1 }, name: 'org_n', sparse: true });
    const [orgAt, orgTag, sparse] = ['org_at', 'org_tag', 'org_n'].map((n) =>
      indexNamed(collection, n),
    );
    expect(orgTag.prefixPosting(1)).toBe(orgAt.prefixPosting(1));
    expect(sparse.prefixPosting(1)).not.toBe(orgAt.prefixPosting(1)); // holds some documents only

    collection.insert({ _id: 2, org: 'a', at: 2, tag: 'y' });
    collection.insert({ _id: 3, org: 'b', at: 3, tag: 'x' });
    const [two] = collection.match({ _id: 2 });
    collection.replace(two, { ...two, org: 'b' });
    collection.remove({ _id: 1, org: 'a', at: 1, tag: 'x' });
    expect(collection.plan({ org: 'b' }).by).not.toBe('collection scan');
    expect(ids(collection, { org: 'b' })).toEqual([2, 3]);
    expect(ids(collection, { org: 'a' })).toEqual([]);

    collection.dropIndex('org_at');
    collection.insert({ _id: 4, org: 'a', at: 4, tag: 'z' });
    expect(collection.plan({ org: 'a' }).by).toBe('org_tag');
    expect(ids(collection, { org: 'a' })).toEqual([4]);
    expect(ids(collection, { org: 'b' })).toEqual([2, 3]);
  });

  it('drops a posting a failed index build started', () => {
    const collection = new Collection('db', 'c', discardingRecorder);
    collection.insert({ _id: 1, org: 'a', key: 'k' });
    collection.insert({ _id: 2, org: 'a', key: 'k' });
    expect(() =>
      collection.createIndex({ key: { org: 1, key: 1 }, name: 'org_key', unique: true }),
    ).toThrow(/E11000/);
    collection.createIndex({ key: { org: 1, other: 1 }, name: 'org_other' });
    expect(ids(collection, { org: 'a' })).toEqual([1, 2]);
    expect(collection.plan({ org: 'a' }).by).toBe('org_other');
  });
});
