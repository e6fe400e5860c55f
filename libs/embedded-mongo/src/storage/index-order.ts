import { compareBson } from '../query/bson-order';
import type { KeyInterval } from '../query/planner';
import { COMPLEX, decodeFields, FieldSet, readTopLevelFields } from './bson-reader';
import type { SecondaryIndex } from './index-manager';
import { OrderedSlots, type KeyRange } from './ordered-slots';

/**
 * The documents of a secondary index in the order of its keys: its fields with their directions,
 * then `_id` in the last field's direction unless the index holds it (so no two keys tie, and a
 * sort on the last fields then `_id` reads straight off it). Slots in an OrderedSlots, keys read
 * back from the stored bytes. A document holding an array in a key field has no single place in
 * that order: while one is stored, the order answers nothing (`usable`).
 */
export class IndexOrder {
  readonly fields: string[];
  readonly directions: number[];
  private readonly slots: OrderedSlots;
  private readonly keyFields: FieldSet;
  private multikey = 0;

  constructor(
    index: SecondaryIndex,
    private readonly bytesOf: (slot: number) => Buffer,
    existing: Iterable<number>,
  ) {
    ({ fields: this.fields, directions: this.directions } = IndexOrder.keyOf(index));
    this.keyFields = new FieldSet(this.fields);
    const compare = (a: unknown, b: unknown): number =>
      compareKeys(a as unknown[], b as unknown[], this.directions);
    // The build reads each key once: arrays are counted then.
    this.slots = OrderedSlots.build(existing, this.keyOf, compare, (slot) => {
      const key = this.keyOf(slot);
      if (key.some(Array.isArray)) this.multikey++;
      return key;
    });
  }

  /** The fields of an index's order and their directions (1 or -1). */
  static keyOf(index: SecondaryIndex): { fields: string[]; directions: number[] } {
    const fields = [...index.fields];
    const directions = Object.values(index.spec.key).map((direction) => Number(direction));
    if (!fields.includes('_id')) {
      fields.push('_id');
      directions.push(directions[directions.length - 1]);
    }
    return { fields, directions };
  }

  /**
   * Whether an index can be kept in order: top-level fields, every document in it, strings as they
   * are (a collation orders them otherwise), ascending or descending.
   */
  static fits(index: SecondaryIndex): boolean {
    return (
      index.coversAll &&
      index.spec.collation === undefined &&
      index.fields.every((field) => !field.includes('.')) &&
      Object.values(index.spec.key).every((direction) => Math.abs(Number(direction)) === 1)
    );
  }

  get usable(): boolean {
    return this.multikey === 0;
  }

  add(slot: number): void {
    if (this.holdsArray(slot)) this.multikey++;
    this.slots.add(slot);
  }

  /** Removes a slot; its document must still be readable. */
  remove(slot: number): void {
    if (this.holdsArray(slot)) this.multikey--;
    this.slots.remove(slot);
  }

  /** Where an interval's keys lie: [first, past last], as places in key order. */
  span(interval: KeyInterval): [number, number] {
    return this.slots.span(this.rangeOf(interval));
  }

  /** The slots at places [start, end) of the order (`reverse`: last first). */
  between(start: number, end: number, reverse: boolean): Iterable<number> {
    return this.slots.between(start, end, reverse);
  }

  /** The interval as a range of key prefixes (a prefix compares equal to every key it starts). */
  private rangeOf({ pinned, range }: KeyInterval): KeyRange {
    const whole = { value: pinned, inclusive: true };
    if (!range) return { lower: whole, upper: whole };
    const [from, to] =
      this.directions[pinned.length] === 1 ? ['lower', 'upper'] : ['upper', 'lower'];
    const bound = (side: string) => {
      const { value, inclusive } = range[side as keyof KeyRange]!;
      return { value: [...pinned, value], inclusive };
    };
    return { lower: bound(from), upper: bound(to) };
  }

  /** The key of a stored document: its values of `fields` (distinct, so `keyFields` keeps their order). */
  private readonly keyOf = (slot: number): unknown[] => {
    const values = new Array<unknown>(this.keyFields.size);
    const bytes = this.bytesOf(slot);
    readTopLevelFields(bytes, this.keyFields, values);
    if (values.includes(COMPLEX)) {
      const decoded = decodeFields(bytes, this.keyFields);
      this.fields.forEach((field, i) => (values[i] = decoded[field]));
    }
    return values;
  };

  private holdsArray(slot: number): boolean {
    return this.keyOf(slot).some(Array.isArray);
  }
}

/** Key order: field by field in each one's direction; a shorter key (a prefix) ties with the keys it starts. */
function compareKeys(a: unknown[], b: unknown[], directions: number[]): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const order = compareBson(a[i], b[i]);
    if (order !== 0) return order * directions[i];
  }
  return 0;
}
