/** One bound of a range: the value, and whether values equal to it are inside. */
export interface Bound {
  value: unknown;
  inclusive: boolean;
}

/** A range of keys; a side left undefined is open. */
export interface KeyRange {
  lower?: Bound;
  upper?: Bound;
}

const CHUNK = 512;

interface Chunk {
  slots: Int32Array;
  length: number;
  /** The key of its last slot, once read; dropped when that slot changes. */
  last?: { key: unknown };
}

/**
 * Slots ordered by a key read from each document (an ordered index): sorted runs of at most CHUNK
 * slots in typed arrays, so an insert moves at most one run and the heap holds no object per
 * document. Keys are not kept, but for each run's last: `keyOf` reads them back from the stored
 * document when comparing (about log2(CHUNK) reads per insert, removal or range bound). Meant for unique keys (`_id`, or an index's key ending
 * with it).
 */
export class OrderedSlots {
  private chunks: Chunk[] = [];

  constructor(
    private readonly keyOf: (slot: number) => unknown,
    private readonly compare: (a: unknown, b: unknown) => number,
  ) {}

  /** Builds the order of existing slots in one sort, reading each key once (with `readKey`). */
  static build(
    slots: Iterable<number>,
    keyOf: (slot: number) => unknown,
    compare: (a: unknown, b: unknown) => number,
    readKey = keyOf,
  ): OrderedSlots {
    const ordered = new OrderedSlots(keyOf, compare);
    const entries = [...slots].map((slot) => ({ slot, key: readKey(slot) }));
    entries.sort((a, b) => compare(a.key, b.key));
    for (let at = 0; at < entries.length; at += CHUNK / 2) {
      const run = entries.slice(at, at + CHUNK / 2);
      const chunk = { slots: new Int32Array(CHUNK), length: run.length };
      run.forEach((entry, i) => (chunk.slots[i] = entry.slot));
      ordered.chunks.push(chunk);
    }
    return ordered;
  }

  get size(): number {
    let size = 0;
    for (const chunk of this.chunks) size += chunk.length;
    return size;
  }

  add(slot: number): void {
    const key = this.keyOf(slot);
    const last = this.chunks[this.chunks.length - 1];
    // Ascending keys (ObjectIds, counters) append: no search, and the next append compares with
    // this key as it is (the new last), without reading it back.
    if (!last || this.compare(this.lastKey(last), key) < 0) {
      this.insertAt(last ? this.chunks.length - 1 : 0, last?.length ?? 0, slot);
      this.chunks[this.chunks.length - 1].last = { key };
      return;
    }
    const [c, i] = this.position(key, false);
    this.insertAt(c, i, slot);
  }

  /** Removes a slot; its document must still be readable. */
  remove(slot: number): void {
    const key = this.keyOf(slot);
    let [c, i] = this.position(key, false);
    // Keys equal by order but not by value (Decimal128s near one double) sit side by side.
    for (; c < this.chunks.length; c++, i = 0) {
      const chunk = this.chunks[c];
      for (; i < chunk.length; i++) {
        if (chunk.slots[i] === slot) {
          if (i === chunk.length - 1) chunk.last = undefined;
          chunk.slots.copyWithin(i, i + 1, chunk.length);
          if (--chunk.length === 0) this.chunks.splice(c, 1);
          return;
        }
        if (this.compare(this.keyOf(chunk.slots[i]), key) !== 0) return;
      }
    }
  }

  /** How many keys lie in the range. */
  count(range: KeyRange): number {
    const [from, to] = this.ends(range);
    if (compareAt(from, to) >= 0) return 0;
    let n = -from[1];
    for (let c = from[0]; c < to[0]; c++) n += this.chunks[c].length;
    return n + to[1];
  }

  /** Where the range's keys lie: the place of its first key and the place past its last. */
  span(range: KeyRange): [number, number] {
    const place = ([c, i]: [number, number]) => {
      for (let k = 0; k < c; k++) i += this.chunks[k].length;
      return i;
    };
    const [from, to] = this.ends(range);
    const start = place(from);
    return [start, Math.max(start, place(to))];
  }

  /** The slots whose keys lie in the range, in key order (`descending`: last first). */
  slots(range: KeyRange, descending = false): Generator<number> {
    const [from, to] = this.ends(range);
    return this.walk(from, to, descending);
  }

  /** The slots at places [start, end) of the key order (`descending`: last first). */
  between(start: number, end: number, descending = false): Generator<number> {
    return this.walk(this.at(start), this.at(end), descending);
  }

  private *walk(
    from: [number, number],
    to: [number, number],
    descending: boolean,
  ): Generator<number> {
    if (compareAt(from, to) >= 0) return;
    if (!descending) {
      for (let c = from[0]; c <= to[0] && c < this.chunks.length; c++) {
        const chunk = this.chunks[c];
        const end = c === to[0] ? to[1] : chunk.length;
        for (let i = c === from[0] ? from[1] : 0; i < end; i++) yield chunk.slots[i];
      }
      return;
    }
    for (let c = Math.min(to[0], this.chunks.length - 1); c >= from[0]; c--) {
      const chunk = this.chunks[c];
      const start = c === from[0] ? from[1] : 0;
      for (let i = (c === to[0] ? to[1] : chunk.length) - 1; i >= start; i--) yield chunk.slots[i];
    }
  }

  /** [chunk, index] of a place in key order. */
  private at(place: number): [number, number] {
    for (let c = 0; c < this.chunks.length; c++) {
      if (place < this.chunks[c].length) return [c, place];
      place -= this.chunks[c].length;
    }
    return [this.chunks.length, 0];
  }

  /** [chunk, index] of the range's first key and of the place just past its last. */
  private ends(range: KeyRange): [[number, number], [number, number]] {
    const from = range.lower ? this.position(range.lower.value, !range.lower.inclusive) : [0, 0];
    const to = range.upper
      ? this.position(range.upper.value, range.upper.inclusive)
      : [this.chunks.length, 0];
    return [from as [number, number], to as [number, number]];
  }

  /** Where `key` goes: before the first equal key, or (`after`) past the last. */
  private position(key: unknown, after: boolean): [number, number] {
    const before = (other: unknown) => {
      const order = this.compare(other, key);
      return after ? order <= 0 : order < 0;
    };
    let low = 0;
    let high = this.chunks.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (before(this.lastKey(this.chunks[mid]))) low = mid + 1;
      else high = mid;
    }
    if (low === this.chunks.length) return [low, 0];
    const chunk = this.chunks[low];
    let start = 0;
    let end = chunk.length - 1; // the last key is known not to be before
    while (start < end) {
      const mid = (start + end) >> 1;
      if (before(this.keyOf(chunk.slots[mid]))) start = mid + 1;
      else end = mid;
    }
    return [low, start];
  }

  private insertAt(c: number, i: number, slot: number): void {
    if (c === this.chunks.length) {
      const last = this.chunks[c - 1];
      if (last && last.length < CHUNK) [c, i] = [c - 1, last.length];
      else this.chunks.push({ slots: new Int32Array(CHUNK), length: 0 });
    }
    let chunk = this.chunks[c];
    if (chunk.length === CHUNK) {
      const half = CHUNK / 2;
      const right = { slots: new Int32Array(CHUNK), length: half };
      right.slots.set(chunk.slots.subarray(half));
      chunk.length = half;
      chunk.last = undefined;
      this.chunks.splice(c + 1, 0, right);
      if (i > half) [chunk, i] = [right, i - half];
    }
    if (i === chunk.length) chunk.last = undefined;
    chunk.slots.copyWithin(i + 1, i, chunk.length);
    chunk.slots[i] = slot;
    chunk.length++;
  }

  private lastKey(chunk: Chunk): unknown {
    chunk.last ??= { key: this.keyOf(chunk.slots[chunk.length - 1]) };
    return chunk.last.key;
  }
}

const compareAt = (a: [number, number], b: [number, number]): number => a[0] - b[0] || a[1] - b[1];
