/** MongoDB's E11000: a unique index refused the write (the race-free way to detect "already exists"). */
export const isDuplicateKeyError = (error: unknown): boolean =>
  (error as { code?: number } | null)?.code === 11000;

/**
 * For an unordered insertMany that failed only on duplicates: the indexes of the refused documents.
 * Undefined when any other error occurred (the caller must not treat those as "already stored").
 */
export function duplicateIndexesOf(error: unknown): Set<number> | undefined {
  const writeErrors = (error as { writeErrors?: { code?: number; index: number }[] } | null)
    ?.writeErrors;
  if (!writeErrors?.length || !writeErrors.every(isDuplicateKeyError)) return undefined;
  return new Set(writeErrors.map((e) => e.index));
}
