import { escapeRegex, phoneSearchPrefix, searchTokens } from './search-text';

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
    expect(searchTokens('')).toEqual([]);
    expect(searchTokens(null)).toEqual([]);
  });

  it('recognizes phone-like searches', () => {
    expect(phoneSearchPrefix('+20 100')).toBe('20100');
    expect(phoneSearchPrefix('0020100')).toBe('20100');
    expect(phoneSearchPrefix('(555) 123-4')).toBe('5551234');
    expect(phoneSearchPrefix('mona')).toBeUndefined();
  });
});
