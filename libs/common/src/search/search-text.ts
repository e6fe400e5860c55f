/** Escapes every regex metacharacter so user input matches literally inside `$regex`. */
export function escapeRegex(input: string): string {
  return input.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/**
 * Word suffixes kept per name: every word of a real full name (a ten-word "Abd El Rahman … El
 * Sayed Hassan" is common), while a name made of hundreds of one-letter words stays bounded.
 */
export const MAX_SEARCH_TOKENS = 32;

/**
 * The form names are stored in for search and queries are compared in: NFKC (full-width and
 * compatibility characters folded), lower-cased, trimmed, runs of whitespace collapsed to one space.
 */
export function normalizeSearchText(input: string | null | undefined): string {
  return (input ?? '').normalize('NFKC').toLowerCase().trim().replace(/\s+/g, ' ');
}

/** Where a word starts: a letter or digit right after anything else (space, hyphen, apostrophe…). */
const WORD_START = /(?<=[^\p{L}\p{N}\p{M}])[\p{L}\p{N}]/gu;

/**
 * Lower-cased `name` plus the suffix starting at each later word, so an anchored
 * (`^`, index-bounded) regex finds "Mona Ali" by "mo" and by "al", and "O'Brien-Smith" by "smi".
 * Changing what counts as a word changes stored keys: bump SEARCH_KEYS_VERSION.
 */
export function searchTokens(name: string | null | undefined): string[] {
  const text = normalizeSearchText(name);
  if (!text) return [];
  const tokens = new Set([text]);
  for (const match of text.matchAll(WORD_START)) {
    if (tokens.size >= MAX_SEARCH_TOKENS) break;
    tokens.add(text.slice(match.index));
  }
  return [...tokens];
}

/**
 * Version of the search key rules (searchTokens, phoneSearchKeys); stored keys of an older
 * version are recomputed at boot.
 */
export const SEARCH_KEYS_VERSION = 4;

/** From this many digits a phone search finds them anywhere in the number; fewer, at its start. */
export const PHONE_INFIX_MIN_DIGITS = 4;

/**
 * A phone's suffixes of at least PHONE_INFIX_MIN_DIGITS digits (the whole number first): an
 * anchored, index-bounded prefix match against them finds digits anywhere in the number, such as
 * its last four.
 */
export function phoneSearchKeys(phone: string | null | undefined): string[] {
  const keys: string[] = [];
  for (let i = 0; phone && i + PHONE_INFIX_MIN_DIGITS <= phone.length; i++)
    keys.push(phone.slice(i));
  return keys;
}

export type PhoneSearchCondition = { phone: RegExp } | { searchPhone: RegExp };

/**
 * The conditions (any of them) on a collection's `phone` / `searchPhone` fields for a search that
 * looks like a phone number; none when it does not. `+…` is the start of a number; `00…` too (the
 * international prefix) or digits anywhere (a number's last four may be "0012"); plain digits are
 * found anywhere from PHONE_INFIX_MIN_DIGITS on, at the start below that.
 */
export function phoneSearchConditions(search: string): PhoneSearchCondition[] {
  const compact = search.replace(/[\s().-]/g, '');
  const match = /^(\+|00)?(\d+)$/.exec(compact);
  if (!match) return [];
  const [, international, digits] = match;
  const start = { phone: new RegExp(`^${digits}`) };
  const all = international === '00' ? `00${digits}` : digits;
  const anywhere =
    international !== '+' && all.length >= PHONE_INFIX_MIN_DIGITS
      ? [{ searchPhone: new RegExp(`^${all}`) }]
      : [];
  if (!international && anywhere.length) return anywhere;
  return [start, ...anywhere];
}
