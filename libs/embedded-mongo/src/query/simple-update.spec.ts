import type { Document } from 'bson';
import { updateOne } from 'mingo';
import { canonicalKey, valuesAtPath } from '../storage/index-key';
import { updatedPaths, withUpdateFieldOrder } from './field-order';
import { mingoOptions } from './mingo-options';
import { trySimpleUpdate, trySimpleUpsert } from './simple-update';
import { applyUpdate, buildUpsertDocument } from './update-engine';
import { seededRandom as random } from '../../test/seeded-random';

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
    expect(
      trySimpleUpdate({ _id: 1 }, { $push: { a: { $each: [1], $slice: 1 } } }),
    ).toBeUndefined();
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

/** Mingo's general updater, on a copy of `document`. */
function byMingo(document: Document, modifier: Document): Document {
  const copy = structuredClone(document);
  updateOne([copy], {}, modifier as never, {}, mingoOptions());
  return copy;
}

/**
 * Over 3,000 random updates: each one the simple path takes gives the document mingo gives,
 * reported modified exactly when it changed (not compared where `modifiedUnknown` says so).
 * Returns how many it took.
 */
function sameAsMingo(
  documentOf: () => Document,
  modifierOf: () => Document,
  modifiedUnknown: (document: Document, modifier: Document) => boolean = () => false,
): number {
  let taken = 0;
  for (let n = 0; n < 3000; n++) {
    const document = documentOf();
    const modifier = modifierOf();
    const result = trySimpleUpdate(document, modifier);
    if (!result) continue;
    taken++;
    const expected = byMingo(document, modifier);
    const context = JSON.stringify({ document, modifier });
    expect(result.document, context).toEqual(expected);
    if (!modifiedUnknown(document, modifier))
      expect(result.modified, context).toBe(canonicalKey(expected) !== canonicalKey(document));
  }
  return taken;
}

describe('simple updates against mingo', () => {
  const next = random(11);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
  // ASCII strings: mingo orders strings by UTF-16 units, MongoDB (and the fast path) by code point.
  const values = [0, -0, 1, 2.5, -3, 2 ** 53, NaN, 'a', 'b', '', true, false, null, new Date(5)];
  const value = (): unknown =>
    next() < 0.15
      ? { x: pick(values), y: [pick(values)] }
      : next() < 0.1
        ? [pick(values)]
        : pick(values);
  const paths = ['a', 'b', 'c', 'n', 'o.x', 'o.z', 'o.p.q', 's.t', '_id', 'a.b'];
  const documentOf = (): Document => {
    const document: Document = { _id: 1 };
    for (const field of ['a', 'b', 'n', 'o', 's'])
      if (next() < 0.6)
        document[field] = field === 'o' && next() < 0.7 ? { x: pick(values) } : value();
    return document;
  };
  const modifierOf = (): Document => {
    const modifier: Document = {};
    for (let i = Math.floor(next() * 4) + 1; i > 0; i--) {
      const operator = pick(['$set', '$unset', '$inc', '$max', '$min'] as const);
      const argument =
        operator === '$inc' ? pick([1, -2, 0, 0.5]) : operator === '$unset' ? '' : value();
      modifier[operator] = { ...(modifier[operator] as Document), [pick(paths)]: argument };
    }
    return modifier;
  };
  const lostIncrement = (target: unknown) =>
    typeof target === 'number' && (Number.isNaN(target) || Math.abs(target) >= 2 ** 53);
  it('gives the document mingo gives, modified exactly when it changed, whenever it takes the update', () => {
    // An $inc that leaves a number as it was (NaN, past 2^53) reports a change (left as it is).
    const incrementLost = (document: Document, modifier: Document) =>
      Object.keys((modifier.$inc ?? {}) as Document).some((path) =>
        lostIncrement(valuesAtPath(document, path)[0]),
      );
    expect(sameAsMingo(documentOf, modifierOf, incrementLost)).toBeGreaterThan(500);
  });

  it('builds an upsert in one pass as applying the update, then $setOnInsert, would', () => {
    let taken = 0;
    for (let n = 0; n < 3000; n++) {
      const seed = documentOf();
      const modifier = modifierOf();
      const onInsert = modifierOf().$set ?? { a: 1 };
      const inOnePass = trySimpleUpsert(seed, modifier, onInsert);
      if (!inOnePass) continue;
      taken++;
      const updated = trySimpleUpdate(seed, modifier)!.document;
      expect(inOnePass, JSON.stringify({ seed, modifier, onInsert })).toEqual(
        trySimpleUpdate(updated, { $set: onInsert })!.document,
      );
    }
    expect(taken).toBeGreaterThan(300);
  });
});

describe('trySimpleUpdate $push / $pull', () => {
  it('takes the forms the gateway sends', () => {
    const state = { _id: 'm', status: 'pending', path: ['pending'] };
    expect(
      trySimpleUpdate(state, {
        $set: { status: 'sent', 'pending.sent': {} },
        $push: { path: 'sent' },
      }),
    ).toEqual({
      document: { _id: 'm', status: 'sent', path: ['pending', 'sent'], pending: { sent: {} } },
      modified: true,
    });
    const bucket = { _id: 'b', sent: 1, applied: ['m1', 'm2', 'm1'] };
    expect(
      trySimpleUpdate(bucket, { $inc: { sent: 1 }, $push: { applied: { $each: ['m3'] } } }),
    ).toEqual({
      document: { _id: 'b', sent: 2, applied: ['m1', 'm2', 'm1', 'm3'] },
      modified: true,
    });
    expect(trySimpleUpdate(bucket, { $pull: { applied: { $in: ['m1', 'x'] } } })).toEqual({
      document: { _id: 'b', sent: 1, applied: ['m2'] },
      modified: true,
    });
    expect(trySimpleUpdate(bucket, { $pull: { applied: 'x', missing: 'm1' } })?.modified).toBe(
      false,
    );
    expect(bucket.applied).toEqual(['m1', 'm2', 'm1']);
    expect(
      trySimpleUpsert(
        { _id: 'b' },
        { $inc: { sent: 1 }, $push: { applied: { $each: ['m1'] } } },
        { day: 'd' },
      ),
    ).toEqual({ _id: 'b', sent: 1, applied: ['m1'], day: 'd' });
  });

  it('declines targets of the wrong type (the caller raises error 2), modifiers and conditions left to mingo', () => {
    expect(trySimpleUpdate({ _id: 1, a: 'x' }, { $push: { a: 1 } })).toBeUndefined();
    expect(trySimpleUpdate({ _id: 1, a: null }, { $pull: { a: 1 } })).toBeUndefined();
    expect(
      trySimpleUpdate({ _id: 1 }, { $push: { a: { $each: [2], $position: 0 } } }),
    ).toBeUndefined();
    expect(trySimpleUpdate({ _id: 1 }, { $push: { a: { $each: 2 } } })).toBeUndefined();
    expect(trySimpleUpdate({ _id: 1, a: [{ b: 1 }] }, { $pull: { a: 1 } })).toBeUndefined();
    expect(trySimpleUpdate({ _id: 1, a: [1] }, { $pull: { a: { b: 1 } } })).toBeUndefined();
    expect(trySimpleUpdate({ _id: 1, a: [1] }, { $pull: { a: { $gt: 0 } } })).toBeUndefined();
    expect(trySimpleUpdate({ _id: 1, a: [1] }, { $pull: { a: /x/ } })).toBeUndefined();
    expect(trySimpleUpdate({ _id: 1, a: ['A'] }, { $pull: { a: 'a' } }, true)).toBeUndefined();
    expect(trySimpleUpdate({ _id: 1, a: [1] }, { $pull: { a: 1 } }, true)?.document.a).toEqual([]);
    expect(() => applyUpdate({ _id: 1, a: 'x' }, { $push: { a: 1 } }, { filter: {} })).toThrow(
      "The field 'a' must be an array but is of type string in document {_id: 1}",
    );
  });
});

describe('simple $push / $pull against mingo', () => {
  const next = random(23);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
  const scalars = [0, -0, 1, 2.5, -3, NaN, 'a', 'b', '', true, false, null, new Date(5)];
  const item = (): unknown =>
    next() < 0.1 ? { x: pick(scalars) } : next() < 0.05 ? [pick(scalars)] : pick(scalars);
  const arrayOf = (make: () => unknown) => Array.from({ length: Math.floor(next() * 5) }, make);
  const paths = ['a', 'b', 'o.list', 'o.p.q', 's', 'a.0'];
  const documentOf = (): Document => {
    const document: Document = { _id: 1 };
    if (next() < 0.8) document.a = arrayOf(() => (next() < 0.9 ? pick(scalars) : item()));
    if (next() < 0.5) document.b = next() < 0.8 ? arrayOf(() => pick(scalars)) : pick(scalars);
    if (next() < 0.6) document.o = next() < 0.7 ? { list: arrayOf(() => pick(scalars)) } : {};
    if (next() < 0.3) document.s = pick(scalars);
    return document;
  };
  const argumentOf = (operator: string): unknown => {
    if (operator === '$push') return next() < 0.5 ? item() : { $each: arrayOf(item) };
    if (operator === '$pull')
      return next() < 0.5 ? pick(scalars) : { $in: arrayOf(() => pick(scalars)) };
    return item();
  };
  const modifierOf = (): Document => {
    const modifier: Document = {};
    for (let i = Math.floor(next() * 3) + 1; i > 0; i--) {
      const operator = pick(['$push', '$pull', '$push', '$pull', '$set'] as const);
      modifier[operator] = {
        ...(modifier[operator] as Document),
        [pick(paths)]: argumentOf(operator),
      };
    }
    return modifier;
  };
  it('gives the document mingo gives, modified exactly when it changed, whenever it takes the update', () => {
    expect(sameAsMingo(documentOf, modifierOf)).toBeGreaterThan(800);
  });
});

describe('field order of the simple path against the general one', () => {
  const next = random(41);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
  const names = ['a', 'b', 'c', 'x.b', 'x.a', 'x-y', 'y', '9a', '10a', 'o.p.q', 'o.p.a', 'o.n'];
  const layout = (value: unknown): string =>
    value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype
      ? `{${Object.entries(value as Document)
          .map(([name, inner]) => name + layout(inner))
          .join(',')}}`
      : '';
  const documentOf = (): Document => {
    const document: Document = { _id: 1 };
    for (const name of ['c', 'y', 'a', 'o', '10a'])
      if (next() < 0.4) document[name] = name === 'o' ? { n: 1, p: { z: 1 } } : 1;
    return document;
  };
  const modifierOf = (): Document => {
    const modifier: Document = {};
    const used = new Set<string>();
    for (let i = Math.floor(next() * 6) + 1; i > 0; i--) {
      const path = pick(names);
      if (used.has(path)) continue;
      used.add(path);
      const operator = pick(['$set', '$inc', '$max', '$min', '$push', '$unset'] as const);
      const value =
        operator === '$unset' ? '' : operator === '$set' && next() < 0.3 ? { k: 1, j: 1 } : 1;
      modifier[operator] = { ...(modifier[operator] as Document), [path]: value };
    }
    return modifier;
  };

  it('creates fields in the order the general path gives after ordering, over random updates', () => {
    let taken = 0;
    for (let n = 0; n < 2000; n++) {
      const document = documentOf();
      const modifier = modifierOf();
      const result = trySimpleUpdate(document, modifier);
      if (!result) continue;
      taken++;
      const copy = structuredClone(document);
      updateOne([copy], {}, modifier as never, {}, mingoOptions());
      const general = withUpdateFieldOrder(document, copy, updatedPaths(modifier));
      expect(layout(result.document), JSON.stringify({ document, modifier })).toBe(layout(general));
    }
    expect(taken).toBeGreaterThan(500);
  });
});
