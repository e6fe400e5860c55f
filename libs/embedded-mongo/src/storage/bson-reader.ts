import { deserialize, ObjectId, type Document } from 'bson';

/** How stored documents are decoded, as the wire layer does: numbers promoted, Binary kept, no UTF-8 validation. */
export const STORED_DOCUMENT_OPTIONS = {
  promoteValues: true,
  promoteBuffers: false,
  validation: { utf8: false },
} as const;

/** Returned for a value this reader does not decode (embedded documents, arrays, Decimal128...). */
export const COMPLEX: unique symbol = Symbol('complex');

const JS_INT_LIMIT = 2n ** 53n;
const TWO_32 = 2 ** 32;
const encodedNames = new Map<string, Buffer>();

/**
 * The value of top-level field `name`, read straight from a BSON document without deserializing
 * the rest: undefined when the field is absent, COMPLEX when its type is not a plain scalar. Scalars
 * come back as the deserializer would give them (int32/double/safe int64 as numbers, dates as Date).
 */
export function readTopLevelField(bytes: Buffer, name: string): unknown {
  const target = encodedName(name);
  const end = bytes.readInt32LE(0) - 1;
  let offset = 4;
  while (offset < end) {
    const type = bytes[offset++];
    const nameEnd = cstringEnd(bytes, offset);
    const value = nameEnd + 1;
    if (nameEnd - offset === target.length && sameBytes(target, bytes, offset))
      return decodeScalar(bytes, type, value);
    offset = value + valueSize(bytes, type, value);
  }
  return undefined;
}

/**
 * Reads several top-level fields in one pass: values[i] receives field i of `fields` as
 * readTopLevelField would return it (undefined when absent, COMPLEX when not a plain scalar).
 */
export function readTopLevelFields(bytes: Buffer, fields: FieldSet, values: unknown[]): void {
  values.fill(undefined);
  let remaining = fields.size;
  const end = bytes.readInt32LE(0) - 1;
  let offset = 4;
  while (offset < end && remaining > 0) {
    const type = bytes[offset++];
    const nameEnd = cstringEnd(bytes, offset);
    const value = nameEnd + 1;
    const index = fields.indexAt(bytes, offset, nameEnd);
    if (index >= 0) {
      values[index] = decodeScalar(bytes, type, value);
      remaining--;
    }
    offset = value + valueSize(bytes, type, value);
  }
}

/**
 * A document holding only the top-level `fields` of a stored one, in stored order: scalars are
 * read in place, other values go through the BSON deserializer one element at a time.
 */
export function decodeFields(bytes: Buffer, fields: FieldSet): Document {
  const document: Document = {};
  if (fields.size === 0) return document;
  const end = bytes.readInt32LE(0) - 1;
  let offset = 4;
  while (offset < end) {
    const start = offset;
    const type = bytes[offset++];
    const nameEnd = cstringEnd(bytes, offset);
    const value = nameEnd + 1;
    offset = value + valueSize(bytes, type, value);
    const index = fields.indexAt(bytes, start + 1, nameEnd);
    if (index < 0) continue;
    const name = fields.names[index];
    let decoded = decodeScalar(bytes, type, value);
    if (decoded === COMPLEX) decoded = decodeElement(bytes, start, offset, name);
    setField(document, name, decoded);
  }
  return document;
}

/** The fields of `document` that are in `fields`, in the document's order. */
export function pickFields(document: Document, fields: FieldSet): Document {
  const picked: Document = {};
  for (const name of Object.keys(document))
    if (fields.indexOf(name) >= 0) setField(picked, name, document[name]);
  return picked;
}

/** `document[name] = value`, except that a field named `__proto__` stays a plain field. */
function setField(document: Document, name: string, value: unknown): void {
  if (name === '__proto__')
    Object.defineProperty(document, name, {
      value,
      writable: true,
      enumerable: true,
      configurable: true,
    });
  else document[name] = value;
}

/** One element (type, name, value) wrapped in a document of its own and deserialized. */
function decodeElement(bytes: Buffer, start: number, end: number, name: string): unknown {
  const single = Buffer.allocUnsafe(4 + end - start + 1);
  single.writeInt32LE(single.length, 0);
  bytes.copy(single, 4, start, end);
  single[single.length - 1] = 0;
  return deserialize(single, STORED_DOCUMENT_OPTIONS)[name];
}

/** Top-level field names, matched against element names in place, without decoding them. */
export class FieldSet {
  readonly names: string[];
  private readonly encoded: Buffer[];

  constructor(fields: Iterable<string>) {
    this.names = [...new Set(fields)];
    this.encoded = this.names.map(encodedName);
  }

  get size(): number {
    return this.names.length;
  }

  indexOf(field: string): number {
    return this.names.indexOf(field);
  }

  /** Index of the field whose UTF-8 name is bytes[start, end), or -1. */
  indexAt(bytes: Buffer, start: number, end: number): number {
    const length = end - start;
    for (let i = 0; i < this.encoded.length; i++) {
      const name = this.encoded[i];
      if (name.length === length && sameBytes(name, bytes, start)) return i;
    }
    return -1;
  }
}

/** Position of the NUL ending the C string at `at` (names are short: a loop beats a native call). */
function cstringEnd(bytes: Buffer, at: number): number {
  while (bytes[at] !== 0) {
    if (at >= bytes.length) throw new Error('embedded-mongo: unterminated BSON field name');
    at++;
  }
  return at;
}

/** Field names are short: a loop beats a native call per comparison. */
function sameBytes(name: Buffer, bytes: Buffer, at: number): boolean {
  for (let i = 0; i < name.length; i++) if (name[i] !== bytes[at + i]) return false;
  return true;
}

function encodedName(name: string): Buffer {
  let encoded = encodedNames.get(name);
  if (!encoded) {
    encoded = Buffer.from(name, 'utf8');
    if (encodedNames.size < 1024) encodedNames.set(name, encoded);
  }
  return encoded;
}

function decodeScalar(bytes: Buffer, type: number, at: number): unknown {
  switch (type) {
    case 0x01:
      return bytes.readDoubleLE(at);
    case 0x02:
      return readString(bytes, at + 4, at + 4 + bytes.readInt32LE(at) - 1);
    case 0x07:
      return new ObjectId(bytes.subarray(at, at + 12)); // copies the 12 bytes
    case 0x08:
      return bytes[at] === 1;
    case 0x09:
      return new Date(bytes.readInt32LE(at + 4) * TWO_32 + bytes.readUInt32LE(at));
    case 0x0a:
      return null;
    case 0x10:
      return bytes.readInt32LE(at);
    case 0x12: {
      const value = bytes.readBigInt64LE(at); // exact: a double would round 2^53 + 1 into range
      return value >= -JS_INT_LIMIT && value <= JS_INT_LIMIT ? Number(value) : COMPLEX;
    }
    default:
      return COMPLEX;
  }
}

/** Short ASCII strings are built in JS (as bson does); the rest go through the UTF-8 decoder. */
function readString(bytes: Buffer, start: number, end: number): string {
  if (end - start <= 20) {
    let text = '';
    for (let i = start; i < end; i++) {
      const byte = bytes[i];
      if (byte > 0x7f) return bytes.toString('utf8', start, end);
      text += String.fromCharCode(byte);
    }
    return text;
  }
  return bytes.toString('utf8', start, end);
}

/** Bytes taken by a value of `type` starting at `at` (BSON spec element layouts). */
function valueSize(bytes: Buffer, type: number, at: number): number {
  switch (type) {
    case 0x06:
    case 0x0a:
    case 0x7f:
    case 0xff:
      return 0;
    case 0x08:
      return 1;
    case 0x10:
      return 4;
    case 0x01:
    case 0x09:
    case 0x11:
    case 0x12:
      return 8;
    case 0x07:
      return 12;
    case 0x13:
      return 16;
    case 0x02:
    case 0x0d:
    case 0x0e:
      return 4 + bytes.readInt32LE(at);
    case 0x03:
    case 0x04:
    case 0x0f:
      return bytes.readInt32LE(at);
    case 0x05:
      return 5 + bytes.readInt32LE(at);
    case 0x0b: {
      const patternEnd = cstringEnd(bytes, at);
      return cstringEnd(bytes, patternEnd + 1) + 1 - at;
    }
    case 0x0c:
      return 4 + bytes.readInt32LE(at) + 12;
    default:
      throw new Error(
        `embedded-mongo: unknown BSON type 0x${type.toString(16)} in a stored document`,
      );
  }
}
