import { deserialize, type Document } from 'bson';
import { STORED_DOCUMENT_OPTIONS } from './bson-reader';

const SLAB_BYTES = 1024 * 1024;
const INITIAL_SLOTS = 256;
const NO_SLOT = -1;

/**
 * The documents of one collection as BSON bytes packed into 1 MiB slabs outside the V8 heap, each
 * addressed by a slot number. Per document the heap holds no object at all, only a few entries in
 * typed arrays, so the garbage collector's work no longer grows with the number of documents.
 *
 * - Reads deserialize a fresh copy: callers own what they get and can never alter the store.
 * - Natural order (insertion order, kept across in-place updates) is a linked list over slots;
 *   freed slots are reused.
 * - An update that fits overwrites the old bytes; otherwise the new version is appended and the old
 *   bytes become garbage. A slab whose live bytes fall under half is emptied by moving its
 *   documents to the open slab; an empty slab is released.
 */
export class DocumentStore {
  private readonly slabs: Array<Buffer | undefined> = [];
  private readonly slabLive: number[] = [];
  private readonly freeSlabs: number[] = [];
  private open = NO_SLOT;
  private openUsed = 0;

  private slabOf = new Int32Array(INITIAL_SLOTS);
  private offsetOf = new Int32Array(INITIAL_SLOTS);
  /** 0 marks a free slot (a BSON document is at least 5 bytes). */
  private lengthOf = new Int32Array(INITIAL_SLOTS);
  private prev = new Int32Array(INITIAL_SLOTS);
  private next = new Int32Array(INITIAL_SLOTS);
  private head = NO_SLOT;
  private tail = NO_SLOT;
  private readonly freeSlots: number[] = [];
  private highWater = 0;

  private documents = 0;
  private liveBytes = 0;

  get count(): number {
    return this.documents;
  }

  /** Total BSON size of the stored documents. */
  get dataSize(): number {
    return this.liveBytes;
  }

  /** Bytes held in slabs, live or not (what the store costs outside the V8 heap). */
  get allocatedBytes(): number {
    let bytes = 0;
    for (const slab of this.slabs) bytes += slab?.length ?? 0;
    return bytes;
  }

  /** Stores a copy of `bytes` as the newest document; returns its slot. */
  insert(bytes: Uint8Array): number {
    const slot = this.freeSlots.pop() ?? this.newSlot();
    this.write(slot, bytes);
    this.prev[slot] = this.tail;
    this.next[slot] = NO_SLOT;
    if (this.tail === NO_SLOT) this.head = slot;
    else this.next[this.tail] = slot;
    this.tail = slot;
    this.documents++;
    return slot;
  }

  /** Replaces the bytes of a slot, keeping its place in natural order. */
  update(slot: number, bytes: Uint8Array): void {
    const length = this.lengthOf[slot];
    if (bytes.length <= length) {
      const slab = this.slabOf[slot];
      this.slabs[slab]!.set(bytes, this.offsetOf[slot]);
      this.lengthOf[slot] = bytes.length;
      this.liveBytes -= length - bytes.length;
      this.release(slab, length - bytes.length);
      return;
    }
    const slab = this.slabOf[slot];
    this.liveBytes -= length;
    this.write(slot, bytes);
    this.release(slab, length);
  }

  delete(slot: number): void {
    const length = this.lengthOf[slot];
    if (length === 0) return;
    const before = this.prev[slot];
    const after = this.next[slot];
    if (before === NO_SLOT) this.head = after;
    else this.next[before] = after;
    if (after === NO_SLOT) this.tail = before;
    else this.prev[after] = before;
    this.lengthOf[slot] = 0;
    this.liveBytes -= length;
    this.documents--;
    this.freeSlots.push(slot);
    this.release(this.slabOf[slot], length);
  }

  read(slot: number): Document {
    return deserialize(this.bytes(slot), STORED_DOCUMENT_OPTIONS);
  }

  /** A view of the stored bytes: valid only until the next write to this store. */
  bytes(slot: number): Buffer {
    const offset = this.offsetOf[slot];
    return this.slabs[this.slabOf[slot]]!.subarray(offset, offset + this.lengthOf[slot]);
  }

  /** Slots in natural order. Do not write to the store while iterating. */
  *slots(): Generator<number> {
    for (let slot = this.head; slot !== NO_SLOT; slot = this.next[slot]) yield slot;
  }

  clear(): void {
    this.slabs.length = 0;
    this.slabLive.length = 0;
    this.freeSlabs.length = 0;
    this.open = NO_SLOT;
    this.openUsed = 0;
    this.head = this.tail = NO_SLOT;
    this.freeSlots.length = 0;
    this.highWater = 0;
    this.documents = 0;
    this.liveBytes = 0;
    this.lengthOf.fill(0);
  }

  private newSlot(): number {
    if (this.highWater === this.lengthOf.length) {
      const grow = (array: Int32Array) => {
        const bigger = new Int32Array(array.length * 2);
        bigger.set(array);
        return bigger;
      };
      this.slabOf = grow(this.slabOf);
      this.offsetOf = grow(this.offsetOf);
      this.lengthOf = grow(this.lengthOf);
      this.prev = grow(this.prev);
      this.next = grow(this.next);
    }
    return this.highWater++;
  }

  /** Copies `bytes` into free space and points `slot` at it. */
  private write(slot: number, bytes: Uint8Array): void {
    const length = bytes.length;
    let slab: number;
    let offset: number;
    if (length > SLAB_BYTES / 4) {
      slab = this.newSlab(Math.max(length, SLAB_BYTES / 4)); // large documents get a slab of their own
      offset = 0;
    } else {
      if (this.open === NO_SLOT || this.openUsed + length > SLAB_BYTES) {
        this.open = this.newSlab(SLAB_BYTES);
        this.openUsed = 0;
      }
      slab = this.open;
      offset = this.openUsed;
      this.openUsed += length;
    }
    this.slabs[slab]!.set(bytes, offset);
    this.slabLive[slab] += length;
    this.slabOf[slot] = slab;
    this.offsetOf[slot] = offset;
    this.lengthOf[slot] = length;
    this.liveBytes += length;
  }

  private newSlab(bytes: number): number {
    const slab = this.freeSlabs.pop() ?? this.slabs.length;
    this.slabs[slab] = Buffer.allocUnsafeSlow(bytes);
    this.slabLive[slab] = 0;
    return slab;
  }

  /** Accounts for `bytes` of a slab that no longer hold a live document. */
  private release(slab: number, bytes: number): void {
    if (bytes === 0) return;
    const live = (this.slabLive[slab] -= bytes);
    if (slab === this.open) return;
    if (live === 0) {
      this.slabs[slab] = undefined;
      this.freeSlabs.push(slab);
    } else if (live < this.slabs[slab]!.length / 2) {
      this.evacuate(slab);
    }
  }

  /** Moves the live documents of a mostly-empty slab to the open slab, then frees it. */
  private evacuate(slab: number): void {
    const source = this.slabs[slab]!;
    this.slabs[slab] = undefined; // no slot points here once the loop ends
    for (let slot = 0; slot < this.highWater; slot++) {
      if (this.slabOf[slot] !== slab || this.lengthOf[slot] === 0) continue;
      const offset = this.offsetOf[slot];
      const length = this.lengthOf[slot];
      this.liveBytes -= length;
      this.write(slot, source.subarray(offset, offset + length));
    }
    this.slabLive[slab] = 0;
    this.freeSlabs.push(slab);
  }
}
