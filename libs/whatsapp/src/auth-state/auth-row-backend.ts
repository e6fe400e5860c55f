/** One stored auth row: creds, or one signal key. `value` is BufferJSON text; null deletes. */
export interface AuthRowWrite {
  type: string;
  id: string;
  value: string | null;
}

/** Raw persistence under BatchedAuthStore (MongoDB in production, a Map in tests). */
export interface AuthRowBackend {
  readMany(sessionId: string, type: string, ids: string[]): Promise<Map<string, string>>;
  /**
   * In order. With `until` (a lease's expiry, by the database's clock) a row is written only
   * before it (another instance may take the session after); false when the lease had run out
   * by the end of the batch: some rows may not have been written (none of them after it).
   */
  writeMany(sessionId: string, rows: AuthRowWrite[], until?: Date): Promise<boolean>;
  /**
   * Every row of the session. With `until`, as `writeMany`: only before it; false when the lease
   * had run out by the end (some rows may be left, none deleted after it).
   */
  deleteAll(sessionId: string, until?: Date): Promise<boolean>;
}
