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

/**
 * Lower-cased `name` plus the suffix starting at each later word, so an anchored
 * (`^`, index-bounded) regex finds "Mona Ali" by "mo" and by "al".
 */
export function searchTokens(name: string | null | undefined): string[] {
  const text = normalizeSearchText(name);
  if (!text) return [];
  const tokens = [text];
  for (
    let i = text.indexOf(' ');
    i !== -1 && tokens.length < MAX_TOKENS;
    i = text.indexOf(' ', i + 1)
  ) {
    const rest = text.slice(i + 1);
    if (rest) tokens.push(rest);
  }
  return [...new Set(tokens)];
}

/** The digits to prefix-match against stored phones when the search looks like a phone number. */
export function phoneSearchPrefix(search: string): string | undefined {
  const compact = search.replace(/[\s().-]/g, '');
  const match = /^(\+|00)?(\d+)$/.exec(compact);
  return match ? match[2] : undefined;
}
