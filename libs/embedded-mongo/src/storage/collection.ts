import { serialize, type Document } from 'bson';
import { serializeToStore, type StoreKind } from '../document-size';
import { ErrorCode, MongoCommandError } from '../errors';
import { compileMatcher, type Matcher, type MingoOptions } from '../query/mingo-options';
import { filterFields } from '../query/dependencies';
import { compareBson } from '../query/bson-order';
import { equalityValues, keyIntervals, rangeOf, type KeyInterval } from '../query/planner';
import { TopK } from '../query/top-k';
import {
  COMPLEX,
  decodeFields,
  FieldSet,
  pickFields,
  readTopLevelField,
  readTopLevelFields,
} from './bson-reader';
import { DocumentStore } from './document-store';
import { canonicalKey } from './index-key';
import {
  defaultIndexName,
  ID_INDEX_NAME,
  SecondaryIndex,
  type IndexKeys,
  type IndexSpec,
} from './index-manager';
import { IndexOrder } from './index-order';
import { OrderedSlots } from './ordered-slots';
import { hashKey, PostingMap } from './posting-map';
import { compileRawFilter, RawVerdict } from './raw-prefilter';
import type { WriteRecorder } from './storage-op';

export const idKeyOf = (id: unknown): string => canonicalKey(id);

const NO_SLOT = -1;

/**
 * A collection this small has its candidates ranked or counted rather than an index order built
 * (and then kept up by every write) for them.
 */
const ORDERED_FROM = 1000;

/** Distinct slots: a posting of an index (read in place, never copied) or a set built for a plan. */
type Slots = readonly number[] | ReadonlySet<number>;
const sizeOf = (slots: Slots): number => ('size' in slots ? slots.size : slots.length);

/** A match competing for a sorted page: its sort key values and its place in natural order. */
interface SortEntry {
  slot: number;
  values: unknown[];
  seq: number;
}

/**
 * Documents of one collection, stored as BSON in a DocumentStore (off the V8 heap) in insertion
 * order, found by `_id` through a hashed map, with secondary indexes beside them. Every read
 * deserializes a fresh copy, so what a caller or a cursor holds is private and never changes.
 * Writes serialize once; the same bytes go to the store and to the journal.
 */
export class Collection {
  private readonly store = new DocumentStore();
  /** hash of the canonical `_id` -> slot (hits are confirmed against the stored `_id`). */
  private readonly ids = new PostingMap();
  private readonly indexes = new Map<string, SecondaryIndex>();
  /** Slots in `_id` order, built by the first range query on `_id` and kept up from then on. */
  private idOrder: OrderedSlots | undefined;
  /** Secondary indexes kept in key order (by name), each built on first use (see IndexOrder). */
  private readonly orders = new Map<string, IndexOrder>();
  private readonly read = (slot: number): Document => this.store.read(slot);

  constructor(
    readonly db: string,
    readonly name: string,
    private readonly recorder: WriteRecorder,
    readonly options: Document = {},
  ) {}

  get ns(): string {
    return `${this.db}.${this.name}`;
  }

  get count(): number {
    return this.store.count;
  }

  /** Total BSON size of the documents. */
  get dataSize(): number {
    return this.store.dataSize;
  }

  /**
   * Every document in natural order, deserialized one at a time (only `fields`, if given); do not
   * write while iterating.
   */
  all(fields?: ReadonlySet<string>): Iterable<Document> {
    return this.select({}, false, fields, undefined);
  }

  /** The stored BSON of every document in natural order (views: valid until the next write). */
  *rawDocuments(): Generator<Buffer> {
    for (const slot of this.store.slots()) yield this.store.bytes(slot);
  }

  /** Deserializes only the documents whose stored BSON passes `test`. */
  filterRaw(test: (bytes: Buffer) => boolean): Document[] {
    const found: Document[] = [];
    for (const slot of this.store.slots())
      if (test(this.store.bytes(slot))) found.push(this.store.read(slot));
    return found;
  }

  getById(id: unknown): Document | undefined {
    const slot = this.slotOf(idKeyOf(id));
    return slot === NO_SLOT ? undefined : this.store.read(slot);
  }

  /** Adds a new document; `kind` names the write in the error for an oversized document. */
  insert(document: Document, kind: StoreKind = 'insert'): void {
    const id = idKeyOf(document._id);
    const idHash = hashKey(id);
    if (this.slotOf(id, idHash) !== NO_SLOT) throw this.idDuplicate(document._id);
    const keys = this.keysOf(document);
    this.assertUnique(NO_SLOT, keys);
    const bytes = serializeToStore(document, kind);
    const slot = this.store.insert(bytes);
    this.ids.add(idHash, slot);
    this.idOrder?.add(slot);
    this.eachIndex((index, i) => index.add(slot, keys[i]));
    for (const order of this.orders.values()) order.add(slot);
    this.recorder.record({ op: 'put', db: this.db, coll: this.name, doc: document, bytes });
  }

  /** Swaps a stored document for its updated version (same `_id`), enforcing unique indexes. */
  replace(previous: Document, next: Document): void {
    const id = idKeyOf(previous._id);
    const slot = this.slotOf(id);
    if (slot === NO_SLOT || idKeyOf(next._id) !== id) {
      // Not reachable through the commands (the _id is immutable); keep the maps right anyway.
      this.remove(previous);
      this.insert(next);
      return;
    }
    // Most updates (counters, timestamps) leave every indexed field as it was: skip those indexes.
    const moved = [...this.indexes.values()].filter(
      (index) => !index.sameKeyFields(previous, next),
    );
    const after = moved.map((index) => index.keysOf(next));
    this.assertUnique(slot, after, moved);
    const bytes = serializeToStore(next, 'update');
    const reordered = moved.flatMap((index) => this.orders.get(index.spec.name) ?? []);
    reordered.forEach((order) => order.remove(slot)); // while its old key can still be read
    this.store.update(slot, bytes);
    reordered.forEach((order) => order.add(slot));
    moved.forEach((index, i) => index.update(slot, index.keysOf(previous), after[i]));
    this.recorder.record({ op: 'put', db: this.db, coll: this.name, doc: next, bytes });
  }

  remove(document: Document): void {
    const id = idKeyOf(document._id);
    const idHash = hashKey(id);
    const slot = this.slotOf(id, idHash);
    if (slot === NO_SLOT) return;
    this.removeSlot(slot, idHash, document);
    this.recorder.record({ op: 'delete', db: this.db, coll: this.name, id: document._id });
  }

  /** Applies a journaled or snapshotted document without checks (replay is trusted). */
  restore(document: Document, bytes?: Uint8Array): void {
    const id = idKeyOf(document._id);
    const idHash = hashKey(id);
    const encoded = bytes ?? serialize(document);
    const after = this.keysOf(document);
    const slot = this.slotOf(id, idHash);
    if (slot === NO_SLOT) {
      const added = this.store.insert(encoded);
      this.ids.add(idHash, added);
      this.idOrder?.add(added);
      this.eachIndex((index, i) => index.add(added, after[i]));
      for (const order of this.orders.values()) order.add(added);
      return;
    }
    const before = this.keysOf(this.store.read(slot));
    for (const order of this.orders.values()) order.remove(slot);
    this.store.update(slot, encoded);
    for (const order of this.orders.values()) order.add(slot);
    this.eachIndex((index, i) => index.update(slot, before[i], after[i]));
  }

  restoreRemoval(id: unknown): void {
    const key = idKeyOf(id);
    const idHash = hashKey(key);
    const slot = this.slotOf(key, idHash);
    if (slot !== NO_SLOT) this.removeSlot(slot, idHash, this.store.read(slot));
  }

  /**
   * Documents matching `filter`, in natural order; index-selected candidates are re-checked. With
   * `fields`, the documents hold only those top-level fields (whatever the filter reads).
   */
  match(
    filter: Document | undefined,
    options: MingoOptions = {},
    fields?: ReadonlySet<string>,
  ): Document[] {
    return [...this.stream(filter, options, fields)];
  }

  /**
   * `match`, one document at a time: a consumer that keeps few of them (a $group, a count) lets
   * the rest die young instead of holding them all. Do not write while iterating.
   */
  stream(
    filter: Document | undefined,
    options: MingoOptions = {},
    fields?: ReadonlySet<string>,
  ): Iterable<Document> {
    return this.select(filter ?? {}, options.collation !== undefined, fields, options);
  }

  /**
   * Candidate documents for `filter`, narrowed through `_id` or a secondary index when possible,
   * without those whose stored bytes already rule them out (see compileRawFilter). They may still
   * include documents that do not match (hash collisions, arrays, operators the raw filter does
   * not read): callers re-check them against the filter.
   */
  candidates(filter: Document, hasCollation = false): Iterable<Document> {
    return this.select(filter, hasCollation, undefined, undefined);
  }

  /**
   * The slots of the first `count` matches in `sort` order (natural order without a sort), the
   * sort keys read from the stored bytes, so a sorted page of a large result decodes only its own
   * documents. The order is MongoDB's (compareBson): ties keep natural order whatever the direction. Undefined
   * when the keys cannot be read that way (dotted paths, `$meta`, arrays or embedded documents):
   * the caller sorts decoded documents then.
   */
  firstSlots(
    filter: Document,
    options: MingoOptions,
    sort: Document | undefined,
    count: number,
  ): number[] | undefined {
    const keys = Object.entries(sort ?? {});
    if (keys.some(([field, direction]) => field.includes('.') || Math.abs(direction) !== 1))
      return undefined;
    if (keys.length === 1 && keys[0][0] === '_id' && options.collation === undefined) {
      const walked = this.firstInIdOrder(filter, options, Number(keys[0][1]) === -1, count);
      if (walked) return walked;
    }
    if (keys.length > 0 && options.collation === undefined) {
      const walked = this.firstInIndexOrder(filter, options, keys, count);
      if (walked) return walked;
    }
    const fields = new FieldSet(keys.map(([field]) => field));
    // Newest-first pages of append-ordered data (timestamps, ObjectIds) find their winners at the
    // end: read from there, and later candidates mostly lose at the first comparison.
    const backwards = keys.length > 0 && Number(keys[0][1]) === -1;
    const matches = this.judge(
      filter,
      options.collation !== undefined,
      fields.names,
      options,
      backwards,
    );
    if (keys.length === 0) {
      const slots: number[] = [];
      for (const [slot] of matches) {
        slots.push(slot);
        if (slots.length === count) break;
      }
      return slots;
    }
    const positions = keys.map(([field]) => fields.indexOf(field));
    const directions = keys.map(([, direction]) => Number(direction));
    const top = new TopK<SortEntry>(count, (a, b) => {
      for (let i = 0; i < positions.length; i++) {
        const order = compareBson(a.values[positions[i]], b.values[positions[i]]);
        if (order !== 0) return order * directions[i];
      }
      return a.seq - b.seq;
    });
    // Most candidates lose against the heap's worst: their keys are read into one reused entry.
    // `seq` is the place in natural order, which breaks ties whichever way the candidates are read.
    const candidate: SortEntry = { slot: 0, values: new Array<unknown>(fields.size), seq: 0 };
    for (const [slot] of matches) {
      readTopLevelFields(this.store.bytes(slot), fields, candidate.values);
      if (candidate.values.includes(COMPLEX)) return undefined;
      candidate.slot = slot;
      if (top.accepts(candidate)) top.offer({ ...candidate, values: [...candidate.values] });
      candidate.seq += backwards ? -1 : 1;
    }
    return top.sorted().map((entry) => entry.slot);
  }

  /**
   * A page sorted by `_id` alone, read off the `_id` order from the filter's `_id` range (all of
   * it without one) until `count` documents match. Undefined when the filter's index candidates
   * are likely fewer than that walk reads (its expected length: `count` over their share of the
   * collection, at most the range): the caller then ranks those candidates.
   */
  private firstInIdOrder(
    filter: Document,
    options: MingoOptions,
    descending: boolean,
    count: number,
  ): number[] | undefined {
    if (equalityValues(filter, '_id')) return undefined; // a few documents by key
    const range = rangeOf(filter, '_id') ?? {};
    const order = this.orderById();
    const candidates = this.indexPlan(filter).slots;
    if (candidates) {
      const share = Math.max(sizeOf(candidates), 1) / Math.max(this.count, 1);
      if (sizeOf(candidates) <= Math.min(order.count(range), count / share)) return undefined;
    }
    const slots: number[] = [];
    if (count === 0) return slots;
    const walk = order.slots(range, descending);
    for (const [slot] of this.judge(filter, false, [], options, false, walk)) {
      if (slots.push(slot) === count) break;
    }
    return slots;
  }

  /**
   * A page whose sort follows an index order (its fields after those the filter pins, through
   * `_id`: `{ org: X }` sorted `{ at: -1, _id: -1 }` on `{ org: 1, at: -1 }`), read off that order
   * from the filter's intervals (see keyIntervals) until `count` documents match. Undefined when
   * no order fits, or the candidates of an equality index are likely fewer than that walk reads
   * (`count` over the share of the pinned keys they hold, at most the intervals), or a condition
   * outside the order matched too few within an eighth of those candidates (a rare search term):
   * reads in key order jump about the stored documents, and ranking the candidates in stored
   * order is then faster than walking on.
   */
  private firstInIndexOrder(
    filter: Document,
    options: MingoOptions,
    sort: Array<[string, unknown]>,
    count: number,
  ): number[] | undefined {
    if (!this.mayOrder() || equalityValues(filter, '_id')) return undefined; // a few documents by key
    let best: { index: SecondaryIndex; intervals: KeyInterval[]; reverse: boolean } | undefined;
    let bestPinned = -1;
    let bestExact = false;
    for (const index of this.indexes.values()) {
      if (!IndexOrder.fits(index) || this.orders.get(index.spec.name)?.usable === false) continue;
      const key = IndexOrder.keyOf(index);
      const intervals = keyIntervals(filter, key.fields);
      if (!intervals) continue;
      const pinned = commonPins(intervals);
      const reverse = sortAlong(sort, key, pinned);
      const exact = intervals.every((interval) => interval.exact);
      if (reverse === undefined || pinned < bestPinned) continue;
      if (pinned === bestPinned && (bestExact || !exact)) continue;
      best = { index, intervals, reverse };
      [bestPinned, bestExact] = [pinned, exact];
    }
    if (!best) return undefined;
    const ranked = this.candidateCount(filter);
    if (!this.orders.has(best.index.spec.name) && ranked <= ORDERED_FROM) return undefined;
    const order = this.orderOf(best.index);
    if (!order.usable) return undefined;
    const spans = spansOf(order, best.intervals);
    const inSpans = spans.reduce((n, [start, end]) => n + end - start, 0);
    if (!bestExact) {
      const [start, end] = order.span({
        pinned: best.intervals[0].pinned.slice(0, bestPinned),
        exact: false,
      });
      const share = Math.min(1, Math.max(ranked, 1) / Math.max(end - start, 1));
      if (Math.min(inSpans, count / share) >= ranked) return undefined;
    }
    const slots: number[] = [];
    if (count === 0) return slots;
    const trial = { left: bestExact ? Infinity : Math.max(8 * count, ranked / 8) };
    const walk = upTo(walkSpans(order, spans, best.reverse), trial);
    for (const [slot] of this.judge(filter, false, [], options, false, walk)) {
      if (slots.push(slot) === count) return slots;
    }
    return trial.left < 0 ? undefined : slots;
  }

  /**
   * The number of matches read off an index order, for a filter whose intervals hold exactly its
   * matches (see keyIntervals). An order is built for a range over more candidates than
   * ORDERED_FROM; an equality alone is counted from an order kept already. Undefined when no order
   * answers.
   */
  private countInOrder(filter: Document): number | undefined {
    if (!this.mayOrder()) return undefined;
    for (const index of this.indexes.values()) {
      if (!IndexOrder.fits(index)) continue;
      const intervals = keyIntervals(filter, IndexOrder.keyOf(index).fields);
      if (!intervals?.every((interval) => interval.exact)) continue;
      const order =
        this.orders.get(index.spec.name) ??
        (intervals.some((interval) => interval.range) &&
          this.candidateCount(filter) > ORDERED_FROM &&
          this.orderOf(index));
      if (!order || !order.usable) continue;
      return spansOf(order, intervals).reduce((n, [start, end]) => n + end - start, 0);
    }
    return undefined;
  }

  /** How many documents match `filter`, judged on their bytes as far as they can be. */
  countMatches(filter: Document, options: MingoOptions = {}): number {
    if (Object.keys(filter).length === 0) return this.count;
    const counted = options.collation === undefined ? this.countInOrder(filter) : undefined;
    if (counted !== undefined) return counted;
    let n = 0;
    for (const _ of this.judge(filter, options.collation !== undefined, [], options)) n++;
    return n;
  }

  /** The documents in these slots, in order; with `fields`, only those top-level fields. */
  documentsAt(slots: number[], fields?: ReadonlySet<string>): Document[] {
    const output = fields ? new FieldSet(fields) : undefined;
    return slots.map((slot) =>
      output ? decodeFields(this.store.bytes(slot), output) : this.store.read(slot),
    );
  }

  /** Reads the matching documents (see judge), as far as `fields`. */
  private *select(
    filter: Document,
    hasCollation: boolean,
    fields: ReadonlySet<string> | undefined,
    matchOptions: MingoOptions | undefined,
  ): Generator<Document> {
    const output = fields ? new FieldSet(fields) : undefined;
    for (const [slot, judged] of this.judge(filter, hasCollation, fields, matchOptions)) {
      if (judged) yield output ? pickFields(judged, output) : judged;
      else yield output ? decodeFields(this.store.bytes(slot), output) : this.store.read(slot);
    }
  }

  /**
   * Reads the planned slots in order, judging each on its bytes first: a document is decoded only
   * if the bytes leave the match undecided, and then only as far as `fields` plus what the filter
   * reads. Yields each matching slot with the document decoded to judge it, if one was. With
   * `matchOptions`, the filter settles the undecided documents (else they are all yielded).
   * `backwards`: last candidate first. `walk`: the candidates to read, in that order, instead of
   * the plan's.
   * Collation changes string equality: neither index keys nor the raw filter can be trusted then.
   */
  private *judge(
    filter: Document,
    hasCollation: boolean,
    fields: Iterable<string> | undefined,
    matchOptions: MingoOptions | undefined,
    backwards = false,
    walk?: Iterable<number>,
  ): Generator<[number, Document | undefined]> {
    const everything = Object.keys(filter).length === 0;
    const planned = walk ?? (hasCollation || everything ? undefined : this.plan(filter).slots);
    const slots = backwards ? [...(planned ?? this.store.slots())].reverse() : planned;
    // Judging bytes pays off over many candidates; one document is simply decoded and matched.
    const few = !!slots && ('size' in slots || Array.isArray(slots)) && sizeOf(slots as Slots) <= 1;
    const raw = hasCollation || everything || few ? undefined : compileRawFilter(filter);
    let matcher: Matcher | undefined;
    let toMatch: FieldSet | null | undefined; // fields + filter fields; null: whole documents
    for (const slot of slots ?? this.store.slots()) {
      const bytes = this.store.bytes(slot);
      const verdict = raw ? raw.test(bytes) : RawVerdict.Unknown;
      if (verdict === RawVerdict.Reject) continue;
      if (!matchOptions || everything || verdict === RawVerdict.Match) {
        yield [slot, undefined];
        continue;
      }
      if (toMatch === undefined) {
        const needed = fields && filterFields(filter, new Set(fields));
        toMatch = needed ? new FieldSet(needed) : null;
      }
      const document = toMatch ? decodeFields(bytes, toMatch) : this.store.read(slot);
      matcher ??= compileMatcher(filter, matchOptions);
      if (matcher.test(document)) yield [slot, document];
    }
  }

  /**
   * How a filter is narrowed before any document is read: by `_id` values, by the index pinning
   * the most leading fields by equality (a full key beats a prefix) or by the `_id` range
   * (whichever yields fewer candidates), or not at all (`slots` undefined: scan).
   */
  plan(filter: Document): { by: string; slots?: Slots } {
    const ids = equalityValues(filter, '_id');
    if (ids) {
      const slots = ids.map((id) => this.slotOf(idKeyOf(id))).filter((slot) => slot !== NO_SLOT);
      return { by: ID_INDEX_NAME, slots: slots.length > 1 ? new Set(slots) : slots };
    }
    const byKeys = this.indexPlan(filter);
    const range = rangeOf(filter, '_id');
    if (!range) return byKeys;
    const order = this.orderById();
    if (byKeys.slots && sizeOf(byKeys.slots) <= order.count(range)) return byKeys;
    return { by: ID_INDEX_NAME, slots: [...order.slots(range)] };
  }

  /** The `_id` order, built on first use. */
  private orderById(): OrderedSlots {
    this.idOrder ??= OrderedSlots.build(this.store.slots(), this.idAt, compareBson);
    return this.idOrder;
  }

  /** Whether an index order may answer: one is kept, or the collection is worth one. */
  private mayOrder(): boolean {
    return this.orders.size > 0 || this.count > ORDERED_FROM;
  }

  /** How many documents an equality index (or a scan) would hand a filter to judge. */
  private candidateCount(filter: Document): number {
    const candidates = this.indexPlan(filter).slots;
    return candidates ? sizeOf(candidates) : this.count;
  }

  /** An index's order, built on first use. */
  private orderOf(index: SecondaryIndex): IndexOrder {
    let order = this.orders.get(index.spec.name);
    if (!order) {
      order = new IndexOrder(index, (slot) => this.store.bytes(slot), this.store.slots());
      this.orders.set(index.spec.name, order);
    }
    return order;
  }

  /** The plan of the secondary index pinning the most leading fields by equality. */
  private indexPlan(filter: Document): { by: string; slots?: Slots } {
    let best: { index: SecondaryIndex; pinned: unknown[][] } | undefined;
    for (const index of this.indexes.values()) {
      if (!index.holdsAllMatches(filter)) continue;
      const pinned: unknown[][] = [];
      for (const field of index.fields) {
        const values = equalityValues(filter, field);
        if (!values) break;
        pinned.push(values);
      }
      const full = pinned.length === index.fields.length;
      if (pinned.length === 0 || (best && pinned.length <= best.pinned.length && !full)) continue;
      if (full)
        return {
          by: index.spec.name,
          slots: this.lookupKeys(pinned, index, (key) => index.lookup(key)),
        };
      best = { index, pinned };
    }
    if (!best) return { by: 'collection scan' };
    const { index, pinned } = best;
    const slots = this.lookupKeys(pinned, index, (key) => index.lookupPrefix(pinned.length, key));
    return { by: index.spec.name, slots };
  }

  /**
   * `_id` and the top-level fields the secondary indexes read: all a restore needs to decode of a
   * document. Undefined when an index reads more (a partial filter with operators at its top).
   */
  keyFields(): ReadonlySet<string> | undefined {
    const fields = new Set(['_id']);
    for (const index of this.indexes.values()) {
      if (!index.keyInputs) return undefined;
      for (const field of index.keyInputs) fields.add(field);
    }
    return fields;
  }

  indexSpecs(): IndexSpec[] {
    return [
      { v: 2, key: { _id: 1 }, name: ID_INDEX_NAME },
      ...[...this.indexes.values()].map((index) => index.spec),
    ];
  }

  secondaryIndexes(): Iterable<SecondaryIndex> {
    return this.indexes.values();
  }

  /** Builds an index over existing documents; false when an identical index already exists. */
  createIndex(requested: Document): boolean {
    const spec = normalizeSpec(requested);
    if (spec.name === ID_INDEX_NAME || isIdOnlyKey(spec.key)) return false;
    const existing =
      this.indexes.get(spec.name) ??
      [...this.indexes.values()].find((index) => sameKey(index.spec.key, spec.key));
    if (existing) {
      if (sameDefinition(existing.spec, spec)) return false;
      const code =
        existing.spec.name === spec.name
          ? ErrorCode.IndexKeySpecsConflict
          : ErrorCode.IndexOptionsConflict;
      throw new MongoCommandError(
        code,
        `An existing index has the same name or key as the requested index. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(existing.spec)}`,
      );
    }
    const index = this.newIndex(spec);
    for (const slot of this.store.slots()) {
      const keys = index.keysOf(this.store.read(slot));
      const conflict = index.findConflict(slot, keys, this.read);
      if (conflict) {
        this.handOverPrefixes(index); // the postings it started keeping are dropped with it
        throw index.duplicateKeyError(this.ns, conflict.values);
      }
      index.add(slot, keys);
    }
    this.indexes.set(spec.name, index);
    this.recorder.record({ op: 'createIndex', db: this.db, coll: this.name, spec });
    return true;
  }

  restoreIndex(spec: IndexSpec): void {
    if (this.indexes.has(spec.name)) return;
    const index = this.newIndex(spec);
    for (const slot of this.store.slots()) index.add(slot, index.keysOf(this.store.read(slot)));
    this.indexes.set(spec.name, index);
  }

  dropIndex(name: string): void {
    if (!this.removeIndex(name)) {
      throw new MongoCommandError(ErrorCode.IndexNotFound, `index not found with name [${name}]`);
    }
    this.recorder.record({ op: 'dropIndex', db: this.db, coll: this.name, name });
  }

  restoreIndexDrop(name: string): void {
    this.removeIndex(name);
  }

  /**
   * An index that reuses the prefix postings of indexes with the same leading fields (the
   * contacts' ten `organizationId, …` indexes keep one `organizationId` posting, not ten).
   * Sparse and partial indexes hold some documents only: they keep their own.
   */
  private newIndex(spec: IndexSpec): SecondaryIndex {
    const index = new SecondaryIndex(spec);
    if (!index.coversAll) return index;
    for (let length = 1; length < index.fields.length; length++) {
      const keeper = this.prefixKeeper(index, length);
      if (keeper) index.sharePrefix(length, keeper.prefixPosting(length), false);
    }
    return index;
  }

  private removeIndex(name: string): boolean {
    const index = this.indexes.get(name);
    if (!index) return false;
    this.indexes.delete(name);
    this.orders.delete(name);
    this.handOverPrefixes(index);
    return true;
  }

  /** The postings a leaving index kept up go to another index that shares them. */
  private handOverPrefixes(leaving: SecondaryIndex): void {
    if (!leaving.coversAll) return;
    for (let length = 1; length < leaving.fields.length; length++) {
      if (!leaving.keepsPrefixOf(length)) continue;
      const posting = leaving.prefixPosting(length);
      const heir = [...this.indexes.values()].find(
        (other) => other !== leaving && other.prefixPosting(length) === posting,
      );
      heir?.sharePrefix(length, posting, true);
    }
  }

  /** The index keeping the posting of the sharer's leading fields, if one covers every document. */
  private prefixKeeper(sharer: SecondaryIndex, length: number): SecondaryIndex | undefined {
    for (const index of this.indexes.values()) {
      if (!index.coversAll || index.fields.length <= length) continue;
      if (!sharer.fields.slice(0, length).every((field, i) => index.fields[i] === field)) continue;
      if (!index.sameCollation(sharer)) continue; // their keys of the same strings differ
      if (index.keepsPrefixOf(length)) return index;
    }
    return undefined;
  }

  findIndexNameByKey(key: Document): string | undefined {
    return [...this.indexes.values()].find((index) => sameKey(index.spec.key, key))?.spec.name;
  }

  /** The slot holding the document whose canonical `_id` is `key`, or NO_SLOT. */
  private slotOf(key: string, hash = hashKey(key)): number {
    for (const slot of this.ids.get(hash)) if (this.idKeyAt(slot) === key) return slot;
    return NO_SLOT;
  }

  /** The `_id` of a stored document, read from its bytes (usually the first field). */
  private readonly idAt = (slot: number): unknown => {
    const id = readTopLevelField(this.store.bytes(slot), '_id');
    return id === COMPLEX ? this.store.read(slot)._id : id;
  };

  /** Canonical `_id` of a stored document, read from its bytes (usually the first field). */
  private idKeyAt(slot: number): string {
    const id = readTopLevelField(this.store.bytes(slot), '_id');
    return idKeyOf(id === COMPLEX ? this.store.read(slot)._id : id);
  }

  /** Slots under the keys made of one value per field; each slot once (keys may share a hash). */
  private lookupKeys(
    perField: unknown[][],
    index: SecondaryIndex,
    lookup: (key: string) => Slots,
  ): Slots {
    let keys = [''];
    for (const values of perField)
      keys = keys.flatMap((prefix) => values.map((value) => prefix + index.partKey(value)));
    if (keys.length === 1) return lookup(keys[0]);
    const slots = new Set<number>();
    for (const key of keys) for (const slot of lookup(key)) slots.add(slot);
    return slots;
  }

  private keysOf(document: Document): IndexKeys[] {
    const keys: IndexKeys[] = [];
    for (const index of this.indexes.values()) keys.push(index.keysOf(document));
    return keys;
  }

  private eachIndex(run: (index: SecondaryIndex, i: number) => void): void {
    let i = 0;
    for (const index of this.indexes.values()) run(index, i++);
  }

  private removeSlot(slot: number, idHash: number, stored: Document): void {
    const keys = this.keysOf(stored);
    this.eachIndex((index, i) => index.remove(slot, keys[i]));
    this.ids.remove(idHash, slot);
    this.idOrder?.remove(slot);
    for (const order of this.orders.values()) order.remove(slot);
    this.store.delete(slot);
  }

  /** `keys[i]` are the new keys of the i-th of `indexes` (all of them by default). */
  private assertUnique(
    slot: number,
    keys: IndexKeys[],
    indexes: Iterable<SecondaryIndex> = this.indexes.values(),
  ): void {
    let i = 0;
    for (const index of indexes) {
      const conflict = index.findConflict(slot, keys[i++], this.read);
      if (conflict) throw index.duplicateKeyError(this.ns, conflict.values);
    }
  }

  private idDuplicate(id: unknown): MongoCommandError {
    return new SecondaryIndex({
      v: 2,
      key: { _id: 1 },
      name: ID_INDEX_NAME,
      unique: true,
    }).duplicateKeyError(this.ns, [id]);
  }
}

const INDEX_OPTIONS = [
  'unique',
  'sparse',
  'partialFilterExpression',
  'expireAfterSeconds',
  'collation',
] as const;

function normalizeSpec(requested: Document): IndexSpec {
  if (
    !requested.key ||
    typeof requested.key !== 'object' ||
    Object.keys(requested.key).length === 0
  ) {
    throw new MongoCommandError(
      ErrorCode.FailedToParse,
      "The field 'key' must be a non-empty object",
    );
  }
  const spec: IndexSpec = {
    v: 2,
    key: requested.key as Document,
    name: (requested.name as string) ?? defaultIndexName(requested.key as Document),
  };
  for (const option of INDEX_OPTIONS)
    if (requested[option] !== undefined) spec[option] = requested[option];
  if (spec.unique === false) delete spec.unique;
  if (spec.sparse === false) delete spec.sparse;
  return spec;
}

function isIdOnlyKey(key: Document): boolean {
  const fields = Object.keys(key);
  return fields.length === 1 && fields[0] === '_id';
}

function sameKey(a: Document, b: Document): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function sameDefinition(a: IndexSpec, b: IndexSpec): boolean {
  return (
    a.name === b.name &&
    sameKey(a.key, b.key) &&
    INDEX_OPTIONS.every((option) => JSON.stringify(a[option]) === JSON.stringify(b[option]))
  );
}

/**
 * Whether a sort reads along an index order (`false`) or against it (`true`): its fields are the
 * order's from a place within the `pinned` leading ones on, ending with `_id` (so no two documents
 * tie), each in the order's direction or each in the opposite one. Undefined otherwise.
 */
function sortAlong(
  sort: Array<[string, unknown]>,
  key: { fields: string[]; directions: number[] },
  pinned: number,
): boolean | undefined {
  if (sort[sort.length - 1][0] !== '_id') return undefined;
  const from = key.fields.indexOf(sort[0][0]);
  if (from < 0 || from > pinned) return undefined;
  const sign = Number(sort[0][1]) * key.directions[from];
  const along = sort.every(
    ([field, direction], i) =>
      key.fields[from + i] === field && Number(direction) * key.directions[from + i] === sign,
  );
  return along ? sign === -1 : undefined;
}

/** How many leading fields every interval pins, to the same values. */
function commonPins(intervals: KeyInterval[]): number {
  const [first, ...others] = intervals;
  let n = 0;
  while (
    n < first.pinned.length &&
    others.every(
      ({ pinned }) =>
        n < pinned.length && canonicalKey(pinned[n]) === canonicalKey(first.pinned[n]),
    )
  )
    n++;
  return n;
}

/** The slots of the spans in key order (`reverse`: last first). */
function* walkSpans(
  order: IndexOrder,
  spans: Array<[number, number]>,
  reverse: boolean,
): Generator<number> {
  for (const [start, end] of reverse ? [...spans].reverse() : spans)
    yield* order.between(start, end, reverse);
}

/** The first `budget.left` slots; `budget.left` ends below 0 if more were left unread. */
function* upTo(slots: Iterable<number>, budget: { left: number }): Generator<number> {
  for (const slot of slots) {
    if (--budget.left < 0) return;
    yield slot;
  }
}

/** The places of the intervals' keys in an order, ascending, overlapping ones merged. */
function spansOf(order: IndexOrder, intervals: KeyInterval[]): Array<[number, number]> {
  const spans = intervals.map((interval) => order.span(interval)).sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const [start, end] of spans) {
    const last = merged[merged.length - 1];
    if (last && start <= last[1]) last[1] = Math.max(last[1], end);
    else if (end > start) merged.push([start, end]);
  }
  return merged;
}
