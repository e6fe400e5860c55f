/** MongoDB's E11000: a unique index refused the write (the race-free way to detect "already exists"). */
export const isDuplicateKeyError = (error: unknown): boolean =>
  (error as { code?: number } | null)?.code === 11000;
