import type { Document } from 'bson';

export type StringFold = (text: string) => string;

/**
 * Equality under a collation of strength 1 (base letters: case and accents ignored) or 2 (case
 * ignored), as a string transform; undefined for the simple collation and strength 3 and up,
 * whose equality is the strings' own.
 */
export function collationFold(collation: Document | undefined): StringFold | undefined {
  if (!collation || collation.locale === 'simple') return undefined;
  const strength = Number(collation.strength ?? 3);
  if (strength === 2) return foldCase;
  if (strength === 1) return foldCaseAndAccents;
  return undefined;
}

const foldCase: StringFold = (text) => text.normalize('NFC').toLowerCase();
const foldCaseAndAccents: StringFold = (text) =>
  text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().normalize('NFC');

/** `value` with every string in it folded (arrays and plain documents copied; other values kept). */
export function foldStrings(value: unknown, fold: StringFold): unknown {
  if (typeof value === 'string') return fold(value);
  if (Array.isArray(value)) return value.map((item) => foldStrings(item, fold));
  if (
    value === null ||
    typeof value !== 'object' ||
    Object.getPrototypeOf(value) !== Object.prototype
  )
    return value;
  const folded: Document = {};
  for (const [key, item] of Object.entries(value)) folded[key] = foldStrings(item, fold);
  return folded;
}
