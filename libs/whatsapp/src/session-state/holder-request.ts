/**
 * What an instance asks of the instance holding a session's lease, through the database (the
 * operations that need the live connection). See HolderRelay.
 */
export type HolderRequest =
  | { kind: 'qr' }
  | { kind: 'pairingCode'; phone: string }
  | { kind: 'restart' }
  /** `whileBarred`: only while the organization may not run, as read by the holder (stopWhileBarred). */
  | { kind: 'stop'; reason?: string; whileBarred?: boolean }
  | { kind: 'logout' }
  | { kind: 'destroy' }
  | { kind: 'resyncContacts' };

/** A domain error of the holder, carried to the asker as it would have been thrown there. */
export interface RelayedError {
  code: string;
  httpStatus: number;
  message: string;
  details?: Record<string, unknown>;
}

export type HolderAnswer = { ok: true; value?: unknown } | { ok: false; error: RelayedError };

export interface AskedRequest {
  id: string;
  sessionId: string;
  request: HolderRequest;
}

/** A request as it is left for the holder (SessionStateStore.askHolder). */
export interface LeftRequest extends AskedRequest {
  askedBy: string;
  /** Dropped by the database after this, answered or not. */
  expiresAt: Date;
  /**
   * Nobody waits for its answer (HolderRelay.tell, work the caller only accepted): whichever
   * instance holds the session carries it out, the one that told it too once it holds it.
   */
  told?: true;
}
