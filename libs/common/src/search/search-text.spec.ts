import {
  escapeRegex,
  MAX_SEARCH_TOKENS,
  normalizeSearchText,
  phoneSearchConditions,
  phoneSearchKeys,
  searchTokens,
} from './search-text';

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

  it('keys every word of a long full name, and a bounded number of words of an absurd one', () => {
    const name = 'Abd El Rahman Mohamed Abd El Aziz El Sayed Hassan';
    expect(searchTokens(name).slice(-2)).toEqual(['sayed hassan', 'hassan']);
    expect(searchTokens(name)).toHaveLength(10);
    expect(searchTokens('a '.repeat(128))).toHaveLength(MAX_SEARCH_TOKENS);
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

  it('keys a phone by its suffixes of four digits or more, so digits anywhere in it are found', () => {
    expect(phoneSearchKeys('201001234')).toEqual([
      '201001234',
      '01001234',
      '1001234',
      '001234',
      '01234',
      '1234',
    ]);
    expect(phoneSearchKeys('123')).toEqual([]);
    expect(phoneSearchKeys(undefined)).toEqual([]);
  });

  it('turns phone-like searches into conditions on the start of the number or digits anywhere', () => {
    // Four digits or more: anywhere (through the suffix keys); fewer: the number's start.
    expect(phoneSearchConditions('(555) 123-4')).toEqual([{ searchPhone: /^5551234/ }]);
    expect(phoneSearchConditions('12')).toEqual([{ phone: /^12/ }]);
    // + is the start of a number.
    expect(phoneSearchConditions('+20 100')).toEqual([{ phone: /^20100/ }]);
    // 00 is the international prefix, or the digits of a number's end ("0003").
    expect(phoneSearchConditions('0003')).toEqual([{ phone: /^03/ }, { searchPhone: /^0003/ }]);
    expect(phoneSearchConditions('0020100')).toEqual([
      { phone: /^20100/ },
      { searchPhone: /^0020100/ },
    ]);
    expect(phoneSearchConditions('mona')).toEqual([]);
    const keys = phoneSearchKeys('447700900123');
    const [anywhere] = phoneSearchConditions('700 900') as Array<{ searchPhone: RegExp }>;
    expect(keys.some((k) => anywhere.searchPhone.test(k))).toBe(true);
  });
});
