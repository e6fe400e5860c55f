import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { HasNoControlCharacters, hasNoControlCharacters } from './no-control-characters';

class Sample {
  @HasNoControlCharacters()
  name?: unknown;

  @HasNoControlCharacters({ multiline: true })
  notes?: unknown;

  @HasNoControlCharacters({ each: true })
  tags?: unknown;
}

const errorsOf = (plain: object) =>
  Object.fromEntries(
    validateSync(plainToInstance(Sample, plain)).map((e) => [
      e.property,
      Object.values(e.constraints ?? {}),
    ]),
  );

describe('HasNoControlCharacters', () => {
  it('refuses C0, DEL, C1 and the bidi overrides in single-line text', () => {
    for (const bad of [
      '\u0000',
      '\t',
      '\n',
      '\r',
      '\u001b',
      '\u007f',
      '\u0085',
      '\u009f',
      '\u202d',
      '\u202e',
    ])
      expect(hasNoControlCharacters(`a${bad}b`), JSON.stringify(bad)).toBe(false);
  });

  it('keeps letters of any script, emoji and the bidi marks right-to-left text carries', () => {
    for (const good of [
      'Mona Ali',
      '\u0645\u0646\u0649',
      '\u200fRLM',
      '\u202bRLE\u202c',
      '\u2067RLI\u2069',
      'caf\u00e9 \u{1f600}',
      '',
    ])
      expect(hasNoControlCharacters(good), JSON.stringify(good)).toBe(true);
  });

  it('lets multi-line text keep tab, line feed and carriage return, nothing else', () => {
    expect(hasNoControlCharacters('one\r\n\ttwo\nthree', true)).toBe(true);
    for (const bad of ['\u0000', '\u000b', '\u000c', '\u001b', '\u0085', '\u202e'])
      expect(hasNoControlCharacters(`a${bad}b`, true), JSON.stringify(bad)).toBe(false);
  });

  it('names the field in its message, checks each item of an array, and leaves non-strings to other rules', () => {
    expect(errorsOf({ name: 'a\u0000', notes: 'x\ny', tags: ['ok', 'b\u001b'] })).toEqual({
      name: [
        'name must not contain control characters (U+0000-U+001F, U+007F-U+009F) or bidi overrides (U+202D, U+202E)',
      ],
      tags: [
        'each value in tags must not contain control characters (U+0000-U+001F, U+007F-U+009F) or bidi overrides (U+202D, U+202E)',
      ],
    });
    expect(errorsOf({ notes: 'a\u0000' }).notes).toEqual([
      'notes must not contain control characters other than line breaks and tabs (U+0000-U+001F, U+007F-U+009F) or bidi overrides (U+202D, U+202E)',
    ]);
    expect(errorsOf({ name: 42, notes: null })).toEqual({});
  });
});
