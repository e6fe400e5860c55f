import {
  Binary,
  BSONRegExp,
  Code,
  Decimal128,
  deserialize,
  Int32,
  Long,
  MaxKey,
  MinKey,
  ObjectId,
  serialize,
  Timestamp,
} from 'bson';
import {
  COMPLEX,
  decodeFields,
  FieldSet,
  readTopLevelField,
  STORED_DOCUMENT_OPTIONS,
} from './bson-reader';

const id = new ObjectId();
// Every BSON type the reader must step over, each followed by a scalar it must still find.
const document = {
  _id: id,
  double: 1.5,
  text: 'héllo',
  sub: { a: 1, b: [1, 2] },
  list: [{ x: 1 }, 'two'],
  bin: new Binary(Buffer.from([1, 2, 3]), 4),
  flag: true,
  at: new Date(Date.UTC(1960, 0, 1)),
  nothing: null,
  regex: new BSONRegExp('^a.c$', 'i'),
  code: new Code('return 1'),
  int: new Int32(-7),
  ts: new Timestamp({ t: 5, i: 1 }),
  long: Long.fromNumber(2 ** 40),
  hugeLong: Long.fromString('9007199254740993'),
  decimal: Decimal128.fromString('1.25'),
  min: new MinKey(),
  max: new MaxKey(),
  last: 'end',
};
const bytes = Buffer.from(serialize(document));
const decoded = deserialize(bytes, STORED_DOCUMENT_OPTIONS);

describe('readTopLevelField', () => {
  it('decodes scalars exactly as the deserializer does', () => {
    for (const field of ['_id', 'double', 'text', 'flag', 'at', 'nothing', 'int', 'long', 'last'])
      expect(readTopLevelField(bytes, field)).toEqual(decoded[field]);
  });

  it('answers COMPLEX for values it does not decode, and undefined for a missing field', () => {
    for (const field of ['sub', 'list', 'bin', 'regex', 'code', 'ts', 'hugeLong', 'decimal', 'min'])
      expect(readTopLevelField(bytes, field)).toBe(COMPLEX);
    expect(readTopLevelField(bytes, 'absent')).toBeUndefined();
    expect(readTopLevelField(bytes, 'su')).toBeUndefined(); // a name prefix is not a match
  });
});

describe('decodeFields', () => {
  it('decodes only the requested top-level fields, whatever their type', () => {
    const fields = ['sub', 'list', 'decimal', 'ts', 'last', 'absent'];
    const partial = decodeFields(bytes, new FieldSet(fields));
    expect(partial).toEqual({
      sub: decoded.sub,
      list: decoded.list,
      decimal: decoded.decimal,
      ts: decoded.ts,
      last: 'end',
    });
    expect(Object.keys(partial)).toEqual(['sub', 'list', 'ts', 'decimal', 'last']);
  });

  it('is a plain deserialize when every field is requested', () => {
    expect(decodeFields(bytes, new FieldSet(Object.keys(document)))).toEqual(decoded);
    expect(decodeFields(bytes, new FieldSet([]))).toEqual({});
  });
});
