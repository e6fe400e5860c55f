import { compareBson } from '../query/bson-order';
import { OrderedSlots, type KeyRange } from './ordered-slots';

describe('OrderedSlots', () => {
  // Keys held outside, as the collection's stored documents hold them.
  const keys = new Map<number, number>();
  const keyOf = (slot: number) => keys.get(slot);
  const inRange = (key: number, { lower, upper }: KeyRange) =>
    (!lower || (lower.inclusive ? key >= Number(lower.value) : key > Number(lower.value))) &&
    (!upper || (upper.inclusive ? key <= Number(upper.value) : key < Number(upper.value)));
  const expected = (range: KeyRange) =>
    [...keys.entries()]
      .filter(([, key]) => inRange(key, range))
      .sort((a, b) => a[1] - b[1])
      .map(([slot]) => slot);

  it('keeps slots in key order through inserts, removals and chunk splits, and reads ranges', () => {
    let seed = 7;
    const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    for (let slot = 0; slot < 600; slot++) keys.set(slot, Math.floor(random() * 1e6));
    const ordered = OrderedSlots.build([...keys.keys()].slice(0, 300), keyOf, compareBson);
    for (let slot = 300; slot < 600; slot++) ordered.add(slot); // ascending and not
    for (let slot = 600; slot < 2600; slot++) {
      keys.set(slot, 1e6 + slot); // appended in order: the fast path, then splits
      ordered.add(slot);
    }
    for (let slot = 0; slot < 2600; slot += 3) {
      ordered.remove(slot);
      keys.delete(slot);
    }
    expect(ordered.size).toBe(keys.size);
    expect([...ordered.slots({})]).toEqual(expected({}));
    const ranges: KeyRange[] = [
      { lower: { value: 250_000, inclusive: false }, upper: { value: 750_000, inclusive: true } },
      { upper: { value: keys.get(1)!, inclusive: false } },
      { lower: { value: keys.get(1)!, inclusive: true } },
      {
        lower: { value: 1e6 + 1000, inclusive: true },
        upper: { value: 1e6 + 1000, inclusive: true },
      },
      { lower: { value: 5, inclusive: true }, upper: { value: 4, inclusive: true } },
      { lower: { value: 3e6, inclusive: false } },
    ];
    for (const range of ranges) {
      expect([...ordered.slots(range)]).toEqual(expected(range));
      expect([...ordered.slots(range, true)]).toEqual(expected(range).reverse());
      expect(ordered.count(range)).toBe(expected(range).length);
    }
  });

  it('reads the keys of one run per insert or removal, not one per run it passes over', () => {
    let seed = 3;
    const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    const held = new Map<number, number>();
    let reads = 0;
    const counted = (slot: number) => (reads++, held.get(slot));
    for (let slot = 0; slot < 100_000; slot++) held.set(slot, random());
    const ordered = OrderedSlots.build(held.keys(), counted, compareBson);
    // 200 inserts and 200 removals anywhere: ~400 runs of keys, 9 reads to search one.
    for (let slot = 100_000; slot < 100_200; slot++) held.set(slot, random());
    reads = 0;
    for (let slot = 100_000; slot < 100_200; slot++) ordered.add(slot);
    for (let slot = 0; slot < 200; slot++) ordered.remove(slot);
    expect(reads / 400).toBeLessThan(13);
    expect(ordered.size).toBe(100_000);
    const keys = [...ordered.slots({})].map((slot) => held.get(slot)!);
    expect(keys).toEqual([...keys].sort((a, b) => a - b));
    expect(new Set(ordered.slots({}))).toEqual(new Set([...held.keys()].slice(200)));
  });

  it('reads one key per append of ascending keys (ids): the new last key is kept, not read again', () => {
    const held = new Map<number, number>();
    let reads = 0;
    const counted = (slot: number) => (reads++, held.get(slot));
    const ordered = new OrderedSlots(counted, compareBson);
    for (let slot = 0; slot < 2000; slot++) {
      held.set(slot, slot * 10);
      ordered.add(slot); // across chunk splits (512 slots a run)
    }
    expect(reads).toBe(2000);
    held.set(2000, 5); // not an append: searched, and still in order
    ordered.add(2000);
    const keys = [...ordered.slots({})].map((slot) => held.get(slot)!);
    expect(keys).toEqual([...keys].sort((a, b) => a - b));
    expect(ordered.size).toBe(2001);
  });
});
