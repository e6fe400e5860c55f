import type { FenceTerm } from './wa-auth-store';

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
   * Makes the session's fence name the take of `epoch`: from then on the writes fenced by an
   * earlier take write nothing. False when a later take claimed it already (nothing changed).
   */
  claimFence(sessionId: string, epoch: number): Promise<boolean>;
  /**
   * In order. With `term` a batch is written only while the fence names its take (refused whole
   * otherwise), and a row only before its expiry (by the database's clock); false when the batch
   * was refused or the lease had run out by its end: some rows may not have been written (none
   * of them after it).
   */
  writeMany(sessionId: string, rows: AuthRowWrite[], term?: FenceTerm): Promise<boolean>;
  /**
   * Every row of the session (with `term`, the fence stays: it still names the take). With
   * `term`, as `writeMany`: false when refused or run out by the end (some rows may be left).
   */
  deleteAll(sessionId: string, term?: FenceTerm): Promise<boolean>;
}
