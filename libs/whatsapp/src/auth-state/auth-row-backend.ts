/** One stored auth row: creds, or one signal key. `value` is BufferJSON text; null deletes. */
export interface AuthRowWrite {
  type: string;
  id: string;
  value: string | null;
}

/** Raw persistence under BatchedAuthStore (MongoDB in production, a Map in tests). */
export interface AuthRowBackend {
  readMany(sessionId: string, type: string, ids: string[]): Promise<Map<string, string>>;
  writeMany(sessionId: string, rows: AuthRowWrite[]): Promise<void>;
  deleteAll(sessionId: string): Promise<void>;
}
