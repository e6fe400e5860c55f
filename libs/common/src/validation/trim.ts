/** class-transformer `@Transform` that trims strings and leaves anything else for the validators. */
export const trimString = ({ value }: { value: unknown }) =>
  typeof value === 'string' ? value.trim() : value;

/**
 * An email as typed, trimmed and in Unicode NFC, so `josé@…` typed with a combining accent is the
 * same address as with a precomposed é (lower-casing is the services').
 */
export const trimEmail = ({ value }: { value: unknown }) =>
  typeof value === 'string' ? value.trim().normalize('NFC') : value;
