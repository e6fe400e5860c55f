import { trySimpleUpdate } from './simple-update';
import { applyUpdate, buildUpsertDocument } from './update-engine';

describe('trySimpleUpdate', () => {
  it('applies $set, $unset and $inc on plain paths without touching the original', () => {
    const original = { _id: 1, a: { b: 1 }, n: 2, gone: true };
    const result = trySimpleUpdate(original, {
      $set: { 'a.c': 5, 'x.y': 1 },
      $inc: { n: 3, fresh: 1 },
      $unset: { gone: '', 'no.such': '' },
    });
    expect(result).toEqual({
      modified: true,
      document: { _id: 1, a: { b: 1, c: 5 }, n: 5, x: { y: 1 }, fresh: 1 },
    });
    expect(original).toEqual({ _id: 1, a: { b: 1 }, n: 2, gone: true });
  });

  it('reports an update that changes nothing', () => {
    expect(trySimpleUpdate({ _id: 1, a: 1 }, { $set: { a: 1 } })?.modified).toBe(false);
  });

  it('defers to mingo for positional paths, arrays, _id and overlapping paths', () => {
    expect(trySimpleUpdate({ _id: 1, a: [{ b: 1 }] }, { $set: { 'a.0.b': 2 } })).toBeUndefined();
    expect(trySimpleUpdate({ _id: 1 }, { $set: { 'a.$.b': 2 } })).toBeUndefined();
    expect(trySimpleUpdate({ _id: 1 }, { $set: { _id: 2 } })).toBeUndefined();
    expect(trySimpleUpdate({ _id: 1 }, { $set: { a: 1 }, $inc: { 'a.b': 1 } })).toBeUndefined();
    const overlap = { $set: { 'a.b': 1, 'a-b': 2 }, $unset: { a: '' } }; // 'a' < 'a-b' < 'a.b'
    expect(trySimpleUpdate({ _id: 1 }, overlap)).toBeUndefined();
    expect(trySimpleUpdate({ _id: 1, s: 'x' }, { $inc: { s: 1 } })).toBeUndefined();
    expect(trySimpleUpdate({ _id: 1 }, { $push: { a: 1 } })).toBeUndefined();
  });
});

describe('trySimpleUpdate $max / $min', () => {
  const at = (ms: number) => new Date(ms);

  it('keeps the larger (or smaller) number or date, and sets a missing field', () => {
    expect(trySimpleUpdate({ _id: 1, n: 5 }, { $max: { n: 7 } })).toEqual({
      document: { _id: 1, n: 7 },
      modified: true,
    });
    expect(trySimpleUpdate({ _id: 1, n: 5 }, { $max: { n: 3 } })).toEqual({
      document: { _id: 1, n: 5 },
      modified: false,
    });
    expect(trySimpleUpdate({ _id: 1, n: 5 }, { $min: { n: 3 } })).toEqual({
      document: { _id: 1, n: 3 },
      modified: true,
    });
    expect(trySimpleUpdate({ _id: 1, at: at(10) }, { $max: { at: at(20) } })?.document.at).toEqual(
      at(20),
    );
    expect(trySimpleUpdate({ _id: 1, at: at(10) }, { $min: { at: at(20) } })?.modified).toBe(false);
    expect(trySimpleUpdate({ _id: 1 }, { $max: { 'stats.last': at(5) } })?.document).toEqual({
      _id: 1,
      stats: { last: at(5) },
    });
  });

  it('leaves cross-type comparisons to mingo', () => {
    expect(trySimpleUpdate({ _id: 1, n: 'x' }, { $max: { n: 3 } })).toBeUndefined();
    expect(trySimpleUpdate({ _id: 1, n: 3 }, { $max: { n: at(1) } })).toBeUndefined();
    expect(trySimpleUpdate({ _id: 1, n: 3 }, { $max: { n: null } })).toBeUndefined();
  });

  it('keeps the larger (or smaller) string by code point, as MongoDB compares UTF-8 bytes', () => {
    expect(trySimpleUpdate({ _id: 1, id: 'a1' }, { $max: { id: 'b0' } })).toEqual({
      document: { _id: 1, id: 'b0' },
      modified: true,
    });
    expect(trySimpleUpdate({ _id: 1, id: 'a1' }, { $min: { id: 'b0' } })?.modified).toBe(false);
    expect(trySimpleUpdate({ _id: 1 }, { $max: { id: 'a1' } })?.document).toEqual({
      _id: 1,
      id: 'a1',
    });
    // U+1F600 is above U+FF61, though its first UTF-16 unit (a surrogate, 0xD83D) is below.
    const update = { $max: { s: '\u{1F600}' } };
    expect(applyUpdate({ _id: 1, s: '\uFF61' }, update, { filter: {} }).document.s).toBe(
      '\u{1F600}',
    );
    expect(
      buildUpsertDocument({ $max: { s: 'b' }, $inc: { n: 1 } }, { filter: { _id: 1 } }),
    ).toEqual({ _id: 1, s: 'b', n: 1 });
  });

  it('leaves strings under a collation to mingo', () => {
    expect(trySimpleUpdate({ _id: 1, s: 'B' }, { $max: { s: 'a' } }, true)).toBeUndefined();
    expect(trySimpleUpdate({ _id: 1, n: 1 }, { $max: { n: 2 } }, true)?.document.n).toBe(2);
  });
});
