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

/** Several slots under one hash: a short list, or (past SMALL_POSTING slots) a Set. */
type ManySlots = number[] | Set<number>;

const SMALL_POSTING = 16;
const NONE: readonly number[] = [];
const MIN_CAPACITY = 16;
const EMPTY = 0;
const FULL = 1;
const DELETED = 2;

/**
 * Key hash -> document slots, as an open-addressing table on typed arrays (linear probing; the
 * hashes are already mixed). Most keys of an index hold one document, stored inline as a number:
 * no heap object per entry, nothing for the garbage collector to trace, and no Map entry to
 * allocate on the hot paths (every insert, and every document of a snapshot being loaded). Keys
 * whose hashes collide share a posting, so every lookup is a candidate list that the caller
 * re-checks against the real key or filter. Within a posting, slots keep their insertion order.
 */
export class PostingMap {
  private hashes = new Int32Array(MIN_CAPACITY);
  /** ≥ 0: the posting's one slot; < 0: `-(1 + i)`, the posting is `many[i]`. */
  private postings = new Int32Array(MIN_CAPACITY);
  private states = new Uint8Array(MIN_CAPACITY);
  private live = 0;
  /** Cells that end a probe: full or deleted (rehashed away once they fill half the table). */
  private used = 0;
  private readonly many: Array<ManySlots | undefined> = [];
  private readonly freeMany: number[] = [];

  get size(): number {
    return this.live;
  }

  add(hash: number, slot: number): void {
    const cell = this.cellOf(hash);
    if (cell < 0) return this.insert(hash, slot);
    const posting = this.postings[cell];
    if (posting >= 0) {
      if (posting !== slot) this.postings[cell] = this.store([posting, slot]);
      return;
    }
    const index = -posting - 1;
    const current = this.many[index]!;
    if (Array.isArray(current)) {
      if (current.includes(slot)) return;
      if (current.length < SMALL_POSTING) current.push(slot);
      else this.many[index] = new Set([...current, slot]);
    } else current.add(slot);
  }

  remove(hash: number, slot: number): void {
    const cell = this.cellOf(hash);
    if (cell < 0) return;
    const posting = this.postings[cell];
    if (posting >= 0) {
      if (posting !== slot) return;
      this.states[cell] = DELETED;
      this.live--;
      return;
    }
    const index = -posting - 1;
    const current = this.many[index]!;
    if (Array.isArray(current)) {
      const at = current.indexOf(slot);
      if (at < 0) return;
      current.splice(at, 1);
      if (current.length === 1) this.single(cell, index, current[0]);
      return;
    }
    current.delete(slot);
    if (current.size === 1) this.single(cell, index, current.values().next().value as number);
  }

  /** The slots under `hash`, read in place: do not keep it across a write. */
  get(hash: number): readonly number[] | ReadonlySet<number> {
    const cell = this.cellOf(hash);
    if (cell < 0) return NONE;
    const posting = this.postings[cell];
    return posting >= 0 ? [posting] : this.many[-posting - 1]!;
  }

  clear(): void {
    this.hashes = new Int32Array(MIN_CAPACITY);
    this.postings = new Int32Array(MIN_CAPACITY);
    this.states = new Uint8Array(MIN_CAPACITY);
    this.live = this.used = 0;
    this.many.length = 0;
    this.freeMany.length = 0;
  }

  /** The cell holding `hash`, or -1. */
  private cellOf(hash: number): number {
    const mask = this.states.length - 1;
    for (let cell = hash & mask; ; cell = (cell + 1) & mask) {
      const state = this.states[cell];
      if (state === EMPTY) return -1;
      if (state === FULL && this.hashes[cell] === hash) return cell;
    }
  }

  private insert(hash: number, slot: number): void {
    if ((this.used + 1) * 2 > this.states.length) this.rehash();
    const mask = this.states.length - 1;
    let cell = hash & mask;
    while (this.states[cell] === FULL) cell = (cell + 1) & mask;
    if (this.states[cell] === EMPTY) this.used++;
    this.states[cell] = FULL;
    this.hashes[cell] = hash;
    this.postings[cell] = slot;
    this.live++;
  }

  /** A table at most half full (twice the live postings, rounded up); deleted cells are dropped. */
  private rehash(): void {
    const { hashes, postings, states } = this;
    let capacity = MIN_CAPACITY;
    while (capacity < (this.live + 1) * 2) capacity *= 2;
    this.hashes = new Int32Array(capacity);
    this.postings = new Int32Array(capacity);
    this.states = new Uint8Array(capacity);
    this.used = this.live;
    const mask = capacity - 1;
    for (let old = 0; old < states.length; old++) {
      if (states[old] !== FULL) continue;
      let cell = hashes[old] & mask;
      while (this.states[cell] === FULL) cell = (cell + 1) & mask;
      this.states[cell] = FULL;
      this.hashes[cell] = hashes[old];
      this.postings[cell] = postings[old];
    }
  }

  /** Keeps a multi-slot posting aside; returns its encoded reference. */
  private store(slots: ManySlots): number {
    const index = this.freeMany.pop() ?? this.many.length;
    this.many[index] = slots;
    return -(index + 1);
  }

  /** A posting down to one slot is kept inline again. */
  private single(cell: number, index: number, slot: number): void {
    this.postings[cell] = slot;
    this.many[index] = undefined;
    this.freeMany.push(index);
  }
}
