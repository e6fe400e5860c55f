import { escapeRegex, normalizeSearchText, phoneSearchPrefix, searchTokens } from './search-text';

describe('customer/contact search helpers', () => {
  it('escapes every regex metacharacter', () => {
    const nasty = 'a.b*c+d?e^f$g{h}i(j)k|l[m]n\\o/p-q';
    const re = new RegExp(`^${escapeRegex(nasty)}$`);
    expect(re.test(nasty)).toBe(true);
    expect(new RegExp(`^${escapeRegex('.*')}`).test('anything')).toBe(false);
  });

  it('builds lower-cased word-suffix tokens for anchored prefix search', () => {
    expect(searchTokens('  Mona   ALI Hassan ')).toEqual([
      'mona ali hassan',
      'ali hassan',
      'hassan',
    ]);
    expect(searchTokens("Book 12 O'Brien-Smith")).toEqual([
      "book 12 o'brien-smith",
      "12 o'brien-smith",
      "o'brien-smith",
      'brien-smith',
      'smith',
    ]);
    // Marks (Arabic vowel signs, combining accents) do not split a word.
    expect(searchTokens('مُحَمَّد علي')).toEqual(['مُحَمَّد علي', 'علي']);
    expect(searchTokens('Zoe\u0301 (Acme) - Sales')).toEqual([
      'zoé (acme) - sales',
      'acme) - sales',
      'sales',
    ]);
    expect(searchTokens('')).toEqual([]);
    expect(searchTokens(null)).toEqual([]);
  });

  it('normalizes a query to the form of the stored tokens (NFKC, case, whitespace)', () => {
    expect(normalizeSearchText('  Nour \t  HANY ')).toBe('nour hany');
    expect(normalizeSearchText('\uFF33\uFF41\uFF52\uFF41')).toBe('sara');
    expect(normalizeSearchText(undefined)).toBe('');
    expect(normalizeSearchText('   ')).toBe('');
    const stored = searchTokens('\uFF33\uFF41\uFF52\uFF41 \uFF2B\uFF48\uFF41\uFF4C\uFF45\uFF44');
    expect(stored).toEqual(['sara khaled', 'khaled']);
    expect(stored[0].startsWith(normalizeSearchText('\uFF33\uFF41\uFF52\uFF41'))).toBe(true);
  });

  it('recognizes phone-like searches', () => {
    expect(phoneSearchPrefix('+20 100')).toBe('20100');
    expect(phoneSearchPrefix('0020100')).toBe('20100');
    expect(phoneSearchPrefix('(555) 123-4')).toBe('5551234');
    expect(phoneSearchPrefix('mona')).toBeUndefined();
  });
});
