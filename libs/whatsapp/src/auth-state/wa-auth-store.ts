/**
 * Per-session WhatsApp auth state: the account credentials plus the signal
 * key store. Engine-neutral on purpose (Baileys types stay in baileys/);
 * values are whatever the engine puts in, stored BufferJSON-encoded.
 */
export type StoredCreds = Record<string, any>;

export type KeyValues = Record<string, unknown>;
/** `{ [type]: { [id]: value | null } }` — null deletes. Same shape as Baileys' SignalDataSet. */
export type KeyWrites = Record<string, Record<string, unknown | null> | undefined>;

export interface WaKeyStore {
  get(type: string, ids: string[]): Promise<KeyValues>;
  set(data: KeyWrites): Promise<void>;
}

/**
 * The signal keys for one writer that may take its writes back (a WhatsApp connection: a message
 * whose keys it moved on must reach WhatsApp's receipt, or the keys go back for the copy sent again).
 */
export interface RevocableKeyStore extends WaKeyStore {
  /** The writes that reached the database are kept: no longer taken back. */
  keep(): void;
  /**
   * The writes not kept are taken back: their rows read as before them at once, and the database
   * gets those values after them (they may still land). Writes not begun yet are refused.
   */
  takeBack(): void;
}

export interface WaAuthStore {
  readonly sessionId: string;
  readCreds(): Promise<StoredCreds | undefined>;
  writeCreds(creds: StoredCreds): Promise<void>;
  readonly keys: WaKeyStore;
  revocableKeys(): RevocableKeyStore;
  hasCreds(): Promise<boolean>;
  /**
   * Delete creds and every key of the session; with a fence, only while the lease is ours
   * (@throws AuthWritesFencedError once another instance took it: nothing is deleted after that).
   */
  clear(): Promise<void>;
  /** Persist pending writes. */
  flush(): Promise<void>;
}

/** The lease as this instance last took or renewed it, as far as its auth writes go. */
export interface FenceTerm {
  /** Its take's epoch (LeaseGrant.epoch): a later take of the session has a larger one. */
  epoch: number;
  /** Its expiry, by the database's clock. */
  until: Date;
}

/**
 * The lease a session's auth writes are fenced by: they land only while it is this instance's, so
 * an instance that lost the session (an outage outlasting the lease, a stalled process, another
 * live process under the same INSTANCE_ID that took it anew) never writes over the keys of the
 * instance that took it over.
 */
export interface AuthWriteFence {
  /** The lease taken here last; undefined: it is not ours. */
  held(): FenceTerm | undefined;
  /**
   * Extends the lease if it still is the one taken (nobody else took it since, even if it ran
   * out); false when another instance took it (the session is then stopped here).
   */
  renew(): Promise<boolean>;
}

/** A write refused because the session's lease went to another instance: it never lands. */
export class AuthWritesFencedError extends Error {
  constructor(readonly sessionId: string) {
    super(`The auth writes of ${sessionId} were dropped: another instance holds its lease now`);
    this.name = 'AuthWritesFencedError';
  }
}

export const WA_AUTH_STORE_PROVIDER = Symbol('WA_AUTH_STORE_PROVIDER');

/** Hands out one store per session, so caches and write batches are shared by every user of it. */
export interface WaAuthStoreProvider {
  /** With `fence`: the session's writes from now on land only while its lease is ours. */
  forSession(sessionId: string, fence?: AuthWriteFence): WaAuthStore;
  /** Flush, then forget the session's store (cache memory is freed) unless it was asked for meanwhile. */
  release(sessionId: string): Promise<void>;
  flushAll(): Promise<void>;
}

export const CREDS_TYPE = 'creds';
export const CREDS_ID = 'creds';
