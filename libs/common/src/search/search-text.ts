/** Escapes every regex metacharacter so user input matches literally inside `$regex`. */
export function escapeRegex(input: string): string {
  return input.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

const MAX_TOKENS = 8;

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
    if (tokens.size >= MAX_TOKENS) break;
    tokens.add(text.slice(match.index));
  }
  return [...tokens];
}

/** Version of the searchTokens rules; stored keys of an older version are recomputed at boot. */
export const SEARCH_KEYS_VERSION = 2;

/** The digits to prefix-match against stored phones when the search looks like a phone number. */
export function phoneSearchPrefix(search: string): string | undefined {
  const compact = search.replace(/[\s().-]/g, '');
  const match = /^(\+|00)?(\d+)$/.exec(compact);
  return match ? match[2] : undefined;
}
