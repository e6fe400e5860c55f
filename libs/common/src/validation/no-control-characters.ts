import { buildMessage, ValidateBy, type ValidationOptions } from 'class-validator';

/**
 * What user-given text may not hold: C0 controls (U+0000-U+001F), DEL and the C1 controls
 * (U+007F-U+009F), which terminals, CSV exports and logs act on, and the bidi overrides LRO and
 * RLO (U+202D, U+202E), which display the rest of a line reversed ("exe.gnp" shown as "pgn.exe").
 * Bidi marks and embeddings (U+200E/F, U+202A-C, U+2066-9) are left alone: right-to-left text
 * carries them. Multi-line text keeps tab, line feed and carriage return.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const SINGLE_LINE_FORBIDDEN = /[\u0000-\u001F\u007F-\u009F\u202D\u202E]/;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const MULTI_LINE_FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u202D\u202E]/;

/** Whether `value` is a string free of the characters above (a non-string is another rule's). */
export function hasNoControlCharacters(value: unknown, multiline = false): boolean {
  if (typeof value !== 'string') return true;
  return !(multiline ? MULTI_LINE_FORBIDDEN : SINGLE_LINE_FORBIDDEN).test(value);
}

/**
 * Refuses control characters and bidi overrides in a text field (`multiline`: line breaks and
 * tabs allowed); `each` for arrays. A 400 VALIDATION_FAILED naming the field.
 */
export function HasNoControlCharacters(
  options: ValidationOptions & { multiline?: boolean } = {},
): PropertyDecorator {
  const { multiline = false, ...validationOptions } = options;
  const allowed = multiline ? ' other than line breaks and tabs' : '';
  return ValidateBy(
    {
      name: 'hasNoControlCharacters',
      validator: {
        validate: (value: unknown) => hasNoControlCharacters(value, multiline),
        defaultMessage: buildMessage(
          (each) =>
            `${each}$property must not contain control characters${allowed} (U+0000-U+001F, U+007F-U+009F) or bidi overrides (U+202D, U+202E)`,
          validationOptions,
        ),
      },
    },
    validationOptions,
  );
}
