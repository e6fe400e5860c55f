import { PostingMap } from './posting-map';
import { seededRandom as random } from '../../test/seeded-random';

describe('PostingMap', () => {
  it('keeps each posting as a reference model would, in insertion order, through growth and deletes', () => {
    const rand = random(42);
    const map = new PostingMap();
    const model = new Map<number, number[]>();
    // Hashes from a small range (collisions on the table's probe paths, negatives included), and
    // postings that grow past the short-list size into Sets and shrink back to one slot.
    const hashes = Array.from({ length: 300 }, (_, i) => (i % 3 === 0 ? -i : i * 16));
    for (let step = 0; step < 60_000; step++) {
      const hash = hashes[Math.floor(rand() ** 2 * hashes.length)];
      const slot = Math.floor(rand() * 40);
      const posting = model.get(hash) ?? [];
      if (rand() < 0.55) {
        map.add(hash, slot);
        if (!posting.includes(slot)) model.set(hash, [...posting, slot]);
      } else {
        map.remove(hash, slot);
        const rest = posting.filter((s) => s !== slot);
        if (rest.length) model.set(hash, rest);
        else model.delete(hash);
      }
      if (step % 997 === 0 || step > 59_900) {
        expect(map.size).toBe(model.size);
        for (const h of hashes) expect([...map.get(h)]).toEqual(model.get(h) ?? []);
      }
    }
  });

  it('answers lookups of absent hashes and keeps its size after many inserts and deletes', () => {
    const map = new PostingMap();
    for (let i = 0; i < 10_000; i++) map.add(i * 7919, i);
    for (let i = 0; i < 10_000; i += 2) map.remove(i * 7919, i);
    expect(map.size).toBe(5_000);
    expect([...map.get(7919)]).toEqual([1]);
    expect([...map.get(2 * 7919)]).toEqual([]);
    expect([...map.get(-1)]).toEqual([]);
    map.remove(12345, 1); // absent: nothing happens
    map.add(7919, 1); // present already: nothing happens
    expect([...map.get(7919)]).toEqual([1]);
    map.clear();
    expect(map.size).toBe(0);
    expect([...map.get(7919)]).toEqual([]);
  });
});
