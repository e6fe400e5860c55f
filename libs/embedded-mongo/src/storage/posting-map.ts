/**
 * 32-bit hash of a canonical key (FNV-1a over UTF-16 code units, murmur3 finalizer). The result is
 * a small integer, so a Map keyed by it stores the key inline instead of one string per entry.
 */
export function hashKey(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/** One slot, a short list, or (past SMALL_POSTING slots) a Set. */
type Posting = number | number[] | Set<number>;

const SMALL_POSTING = 16;
const NONE: readonly number[] = [];

/**
 * Key hash -> document slots. Most keys of an index hold one document, stored as a bare number: no
 * object per entry for the garbage collector to trace. Keys whose hashes collide share a posting,
 * so every lookup is a candidate list that the caller re-checks against the real key or filter.
 */
export class PostingMap {
  private readonly map = new Map<number, Posting>();

  get size(): number {
    return this.map.size;
  }

  add(hash: number, slot: number): void {
    const current = this.map.get(hash);
    if (current === undefined) this.map.set(hash, slot);
    else if (typeof current === 'number') {
      if (current !== slot) this.map.set(hash, [current, slot]);
    } else if (Array.isArray(current)) {
      if (current.includes(slot)) return;
      if (current.length < SMALL_POSTING) current.push(slot);
      else this.map.set(hash, new Set([...current, slot]));
    } else current.add(slot);
  }

  remove(hash: number, slot: number): void {
    const current = this.map.get(hash);
    if (current === undefined) return;
    if (typeof current === 'number') {
      if (current === slot) this.map.delete(hash);
      return;
    }
    if (Array.isArray(current)) {
      const at = current.indexOf(slot);
      if (at < 0) return;
      current.splice(at, 1);
      if (current.length === 1) this.map.set(hash, current[0]);
      return;
    }
    current.delete(slot);
    if (current.size === 1) this.map.set(hash, current.values().next().value as number);
    else if (current.size === 0) this.map.delete(hash);
  }

  /** The slots under `hash`, read in place: do not keep it across a write. */
  get(hash: number): readonly number[] | ReadonlySet<number> {
    const current = this.map.get(hash);
    if (current === undefined) return NONE;
    return typeof current === 'number' ? [current] : current;
  }

  clear(): void {
    this.map.clear();
  }
}
