import { serialize } from 'bson';
import { DocumentStore } from './document-store';

const bson = (document: object) => serialize(document);
const ids = (store: DocumentStore) => [...store.slots()].map((slot) => store.read(slot)._id);

describe('DocumentStore', () => {
  it('returns a fresh copy of each document, in insertion order', () => {
    const store = new DocumentStore();
    const a = store.insert(bson({ _id: 1, at: new Date(5), tags: ['x'] }));
    store.insert(bson({ _id: 2 }));
    const first = store.read(a);
    expect(first).toEqual({ _id: 1, at: new Date(5), tags: ['x'] });
    first.tags.push('mutated');
    expect(store.read(a).tags).toEqual(['x']);
    expect(ids(store)).toEqual([1, 2]);
    expect(store.count).toBe(2);
  });

  it('keeps a document in place across updates that shrink or grow it', () => {
    const store = new DocumentStore();
    const slots = [1, 2, 3].map((_id) => store.insert(bson({ _id, text: 'x'.repeat(20) })));
    store.update(slots[1], bson({ _id: 2, text: 'short' }));
    store.update(slots[0], bson({ _id: 1, text: 'y'.repeat(500) }));
    expect(ids(store)).toEqual([1, 2, 3]);
    expect(store.read(slots[1]).text).toBe('short');
    expect(store.read(slots[0]).text).toBe('y'.repeat(500));
    expect(store.dataSize).toBe(
      [1, 2, 3].reduce((sum, i) => sum + store.bytes(slots[i - 1]).length, 0),
    );
  });

  it('reuses freed slots but appends new documents at the end of natural order', () => {
    const store = new DocumentStore();
    const slots = [1, 2, 3].map((_id) => store.insert(bson({ _id })));
    store.delete(slots[0]);
    const reused = store.insert(bson({ _id: 4 }));
    expect(reused).toBe(slots[0]);
    expect(ids(store)).toEqual([2, 3, 4]);
    store.delete(slots[2]);
    store.delete(slots[1]);
    store.delete(reused);
    expect(ids(store)).toEqual([]);
    expect(store.count).toBe(0);
    expect(store.dataSize).toBe(0);
  });

  it('moves the survivors out of mostly-empty slabs and releases them', () => {
    const store = new DocumentStore();
    const pad = 'p'.repeat(1000);
    const slots: number[] = [];
    for (let i = 0; i < 5000; i++) slots.push(store.insert(bson({ _id: i, pad })));
    const full = store.allocatedBytes;
    expect(full).toBeGreaterThanOrEqual(5 * 1024 * 1024);
    slots.forEach((slot, i) => i % 10 !== 0 && store.delete(slot));
    expect(store.count).toBe(500);
    expect(store.allocatedBytes).toBeLessThanOrEqual(full / 2);
    expect(ids(store)).toEqual(Array.from({ length: 500 }, (_, i) => i * 10));
    expect(store.read(slots[4990])).toEqual({ _id: 4990, pad });
  });

  it('gives large documents a slab of their own', () => {
    const store = new DocumentStore();
    const big = store.insert(bson({ _id: 'big', blob: 'b'.repeat(3 * 1024 * 1024) }));
    const small = store.insert(bson({ _id: 'small' }));
    expect(store.read(big).blob).toHaveLength(3 * 1024 * 1024);
    store.delete(big);
    expect(store.allocatedBytes).toBeLessThanOrEqual(1024 * 1024);
    expect(store.read(small)).toEqual({ _id: 'small' });
  });
});
