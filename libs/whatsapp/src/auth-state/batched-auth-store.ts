import { groupBy, type OutageLog, OutageRetries } from '@app/common';
import type { AuthRowBackend, AuthRowWrite } from './auth-row-backend';
import { decodeAuthValue, encodeAuthValue } from './buffer-json';
import { LruCache } from './lru-cache';
import {
  type AuthWriteFence,
  AuthWritesFencedError,
  CREDS_ID,
  CREDS_TYPE,
  type FenceTerm,
  type KeyValues,
  type KeyWrites,
  type RevocableKeyStore,
  type StoredCreds,
  type WaAuthStore,
  type WaAuthStoreProvider,
  type WaKeyStore,
} from './wa-auth-store';

const rowKey = (type: string, id: string) => `${type}\u0000${id}`;

/** A database read on its way: what happened to its rows since it began wins over its answer. */
interface ReadInFlight {
  /** The rows written since, with their last value. */
  written: Map<string, string | null>;
  /** The store was cleared since: a row not written since is absent. */
  cleared: boolean;
}

/** A row a revocable writer wrote and has not kept: its value before, and the writes since. */
interface UnkeptRow {
  before: AuthRowWrite;
  writes: { row: AuthRowWrite; landed: boolean }[];
}

/**
 * WaAuthStore over any row backend: an LRU read cache (absent rows cached
 * as null, Baileys asks for missing keys a lot) and write coalescing — all
 * writes issued in the same tick go out as one backend batch, in order.
 */
export class BatchedAuthStore implements WaAuthStore {
  private readonly cache: LruCache<string | null>;
  private readonly pending = new Map<string, AuthRowWrite>();
  /** Rows whose last write has not reached the database, by row key. */
  private readonly unlanded = new Map<string, AuthRowWrite>();
  /** Database reads on their way: an answer may predate writes (or a clear) made after it began. */
  private readonly readsInFlight = new Set<ReadInFlight>();
  private scheduledBatch?: Promise<void>;
  private lastWrite: Promise<void> = Promise.resolve();
  /** The lease the writes are fenced by (the live session's); none: they are not. */
  fence?: AuthWriteFence;
  /** Another instance took the session's lease: no write of this store lands any more. */
  private fencedOut = false;
  /** The take the session's fence was made to name (once per take, before its first read). */
  private claim?: { epoch: number; named: Promise<boolean> };

  /** True once another instance took the lease: its cache and queued writes are of before then. */
  get isFencedOut(): boolean {
    return this.fencedOut;
  }

  readonly keys: WaKeyStore = {
    get: (type, ids) => this.getKeys(type, ids),
    set: (data) => this.setKeys(data),
  };

  /**
   * `outage`: while the database is unreachable, reads and writes are tried again (with backoff)
   * until it answers or the retries stop (shutdown). Baileys reads and writes the signal keys of
   * each message it decrypts: failing them loses the message (WhatsApp does not send it again) or
   * leaves keys in memory that the database never gets.
   */
  constructor(
    readonly sessionId: string,
    private readonly backend: AuthRowBackend,
    cacheSize = 256,
    private readonly outage?: OutageRetries,
  ) {
    this.cache = new LruCache(cacheSize);
  }

  private throughOutage<T>(operation: () => Promise<T>): Promise<T> {
    return this.outage
      ? this.outage.run(operation, 'Database unreachable: signal keys wait', {
          sessionId: this.sessionId,
        })
      : operation();
  }

  async readCreds(): Promise<StoredCreds | undefined> {
    const found = await this.getKeys(CREDS_TYPE, [CREDS_ID]);
    return found[CREDS_ID] as StoredCreds | undefined;
  }

  writeCreds(creds: StoredCreds): Promise<void> {
    return this.enqueue([{ type: CREDS_TYPE, id: CREDS_ID, value: encodeAuthValue(creds) }]);
  }

  async hasCreds(): Promise<boolean> {
    const raw = await this.readRaw(CREDS_TYPE, [CREDS_ID]);
    return raw.has(CREDS_ID);
  }

  async clear(): Promise<void> {
    this.pending.clear();
    this.unlanded.clear();
    this.cache.clear();
    for (const read of this.readsInFlight) {
      read.written.clear();
      read.cleared = true;
    }
    await this.lastWrite.catch(() => undefined);
    // Fenced as the writes: a logout on an instance that lost the session deletes nothing of the
    // instance that took it over (@throws AuthWritesFencedError then).
    await this.underFence((term) => this.backend.deleteAll(this.sessionId, term));
  }

  /** Writes dropped because another instance took the session are not a failure here. */
  async flush(): Promise<void> {
    try {
      if (this.scheduledBatch) await this.scheduledBatch;
      await this.lastWrite;
    } catch (err) {
      if (!(err instanceof AuthWritesFencedError)) throw err;
    }
  }

  private async getKeys(type: string, ids: string[]): Promise<KeyValues> {
    const raw = await this.readRaw(type, ids);
    const out: KeyValues = {};
    for (const [id, json] of raw) out[id] = decodeAuthValue(json);
    return out;
  }

  private setKeys(data: KeyWrites): Promise<void> {
    return this.enqueue(toRows(data));
  }

  revocableKeys(): RevocableKeyStore {
    const unkept = new Map<string, UnkeptRow>();
    let takenBack = false;
    // The writer's writes enter the store in call order, each once its rows' values before it are known.
    let entered = Promise.resolve();
    return {
      get: (type, ids) => this.getKeys(type, ids),
      set: async (data) => {
        const rows = toRows(data);
        const known = entered.then(() => this.valuesNow(rows));
        entered = known.then(
          () => undefined,
          () => undefined,
        );
        const before = await known;
        if (takenBack) throw new Error(`The key writes of ${this.sessionId} were taken back`);
        const writes = rows.map((row) => {
          const key = rowKey(row.type, row.id);
          const entry = unkept.get(key) ?? { before: before.get(key)!, writes: [] };
          const write = { row, landed: false };
          entry.writes.push(write);
          unkept.set(key, entry);
          return write;
        });
        await this.enqueue(rows);
        for (const write of writes) write.landed = true;
      },
      keep: () => {
        // Writes land in order: a row's landed writes are the first ones.
        for (const [key, entry] of unkept) {
          while (entry.writes[0]?.landed) entry.before = entry.writes.shift()!.row;
          if (entry.writes.length === 0) unkept.delete(key);
        }
      },
      takeBack: () => {
        takenBack = true;
        const rows = [...unkept.values()].map((entry) => entry.before);
        unkept.clear();
        // Queued behind the writes it undoes; a failure is the shutdown's (it stops the retries).
        if (rows.length > 0) this.enqueue(rows).catch(() => undefined);
      },
    };
  }

  /** The rows' values as this store sees them now (null: absent), by row key. */
  private async valuesNow(rows: AuthRowWrite[]): Promise<Map<string, AuthRowWrite>> {
    const out = new Map<string, AuthRowWrite>();
    for (const [type, ofType] of groupBy(rows, (r) => r.type)) {
      const found = await this.readRaw(
        type,
        ofType.map((r) => r.id),
      );
      for (const { id } of ofType)
        out.set(rowKey(type, id), { type, id, value: found.get(id) ?? null });
    }
    return out;
  }

  /** Present rows only, as stored text; cache first (it also reflects pending writes). */
  private async readRaw(type: string, ids: string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    const misses: string[] = [];
    for (const id of ids) {
      const cached = this.cache.get(rowKey(type, id));
      if (cached === undefined) misses.push(id);
      else if (cached !== null) found.set(id, cached);
    }
    if (misses.length > 0) {
      const read: ReadInFlight = { written: new Map(), cleared: false };
      this.readsInFlight.add(read);
      const loaded = await this.throughOutage(async () => {
        await this.claimFence();
        return this.backend.readMany(this.sessionId, type, misses);
      }).finally(() => this.readsInFlight.delete(read));
      for (const id of misses) {
        const key = rowKey(type, id);
        // A write not landed yet (made while we were reading, or one the cache let go) wins over the DB.
        if (this.unlanded.has(key)) {
          const value = this.unlanded.get(key)!.value;
          if (value !== null) found.set(id, value);
          continue;
        }
        // So does one that landed while we were reading (the answer may predate it), or a clear.
        const value = read.written.has(key)
          ? read.written.get(key)!
          : read.cleared
            ? null
            : (loaded.get(id) ?? null);
        this.cache.set(key, value);
        if (value !== null) found.set(id, value);
      }
    }
    return found;
  }

  private enqueue(rows: AuthRowWrite[]): Promise<void> {
    for (const row of rows) {
      const key = rowKey(row.type, row.id);
      this.pending.set(key, row);
      this.unlanded.set(key, row);
      this.cache.set(key, row.value);
      for (const read of this.readsInFlight) read.written.set(key, row.value);
    }
    // Microtask, not a timer: coalesces same-tick writes and is immune to fake timers.
    this.scheduledBatch ??= Promise.resolve().then(() => {
      this.scheduledBatch = undefined;
      return this.writeBatch();
    });
    return this.scheduledBatch;
  }

  private writeBatch(): Promise<void> {
    const rows = [...this.pending.values()];
    this.pending.clear();
    const write = this.lastWrite
      .catch(() => undefined)
      .then(() => (rows.length > 0 ? this.throughOutage(() => this.writeFenced(rows)) : undefined))
      .catch((err: unknown) => {
        // Failed for good (an outage is waited out): the database kept what it had, and the
        // writer was told. Its rows are read from there again, not served as if written.
        for (const row of rows) {
          const key = rowKey(row.type, row.id);
          if (this.unlanded.get(key) === row) this.cache.delete(key);
        }
        throw err;
      })
      .finally(() => {
        for (const row of rows) {
          const key = rowKey(row.type, row.id);
          if (this.unlanded.get(key) === row) this.unlanded.delete(key);
        }
      });
    this.lastWrite = write;
    return write;
  }

  /**
   * With a fence, rows land only while the session's lease is this instance's: never over the keys
   * of an instance that took the session over (after an outage that outlasted the lease, or a
   * stall). A batch that met the lease run out goes again once it is renewed (the same values);
   * if another instance took it meanwhile, the batch is dropped, and so is every write after it.
   */
  private writeFenced(rows: AuthRowWrite[]): Promise<void> {
    return this.underFence((term) => this.backend.writeMany(this.sessionId, rows, term));
  }

  /**
   * Runs `write` (true: it landed whole under the take, before its expiry) unfenced without a
   * fence, else under the lease taken last, renewing a lease that ran out once; another instance
   * took it (or a later take under this instance's own id): fenced out.
   */
  private async underFence(write: (term?: FenceTerm) => Promise<boolean>): Promise<void> {
    if (!this.fence) return void (await write());
    for (let renewed = false; ; renewed = true) {
      await this.claimFence();
      if (this.fencedOut) throw new AuthWritesFencedError(this.sessionId);
      const term = this.fence.held();
      if (term && (await write(term))) return;
      // A lease just renewed (for the TTL) does not run out before the write that follows it.
      if (renewed) throw new Error(`The lease of ${this.sessionId} ran out as it was renewed`);
      if (!(await this.fence.renew())) this.fencedOut = true;
    }
  }

  /**
   * Before the first read or write under a take of the lease, the session's fence is made to name
   * it: from then on nothing of an earlier take lands, even while that lease has not run out (two
   * live processes under one INSTANCE_ID, or one that stalled while its restart took the session
   * back), so what this take reads is not written over behind it. A later take named already:
   * fenced out, and the lease is renewed, which finds it lost and steps the session back.
   */
  private async claimFence(): Promise<void> {
    const term = this.fence?.held();
    if (!term || this.fencedOut) return;
    let claim = this.claim;
    if (claim?.epoch !== term.epoch) {
      const named = this.backend.claimFence(this.sessionId, term.epoch);
      this.claim = claim = { epoch: term.epoch, named };
      // Failed (the database away): tried again by the next read or write.
      const failed = claim;
      named.catch(() => {
        if (this.claim === failed) this.claim = undefined;
      });
    }
    if (await claim.named) return;
    this.fencedOut = true;
    await this.fence!.renew();
  }
}

const toRows = (data: KeyWrites): AuthRowWrite[] =>
  Object.entries(data).flatMap(([type, byId]) =>
    Object.entries(byId ?? {}).map(([id, value]) => ({
      type,
      id,
      value: value === null || value === undefined ? null : encodeAuthValue(value),
    })),
  );

/** One BatchedAuthStore per live session over a shared row backend (MongoDB or memory). */
export class BatchedAuthStoreProvider implements WaAuthStoreProvider {
  private readonly stores = new Map<string, BatchedAuthStore>();
  /** Sessions whose store is forgotten once its writes landed, unless asked for again meanwhile. */
  private readonly releasing = new Set<string>();
  /**
   * Stopped at shutdown (`flushAll`): a database outage is no longer waited out (a write waiting
   * out its backoff is tried once more), and once a try found it unreachable, the writes still
   * queued give up without a try (10 s apiece).
   */
  private readonly outage: OutageRetries;

  constructor(
    readonly backend: AuthRowBackend,
    log?: OutageLog,
  ) {
    this.outage = new OutageRetries(log);
  }

  forSession(sessionId: string, fence?: AuthWriteFence): WaAuthStore {
    this.releasing.delete(sessionId);
    let store = this.stores.get(sessionId);
    // Taken again after another instance held it: a new store, which reads that instance's keys
    // (the old one's cache is of before; its queued writes stay dropped).
    if (store?.isFencedOut && fence) store = undefined;
    if (!store)
      this.stores.set(
        sessionId,
        (store = new BatchedAuthStore(sessionId, this.backend, undefined, this.outage)),
      );
    if (fence) store.fence = fence;
    return store;
  }

  /**
   * The store stays the session's until its writes landed: one made meanwhile would read the
   * database's rows from before them (a take-back at close, waiting out an outage) and keep them.
   */
  async release(sessionId: string): Promise<void> {
    const store = this.stores.get(sessionId);
    if (!store) return;
    this.releasing.add(sessionId);
    try {
      await store.flush();
    } finally {
      if (this.releasing.delete(sessionId)) this.stores.delete(sessionId);
    }
  }

  /** At shutdown: the last writes, unless a try since the stop found the database unreachable. */
  async flushAll(): Promise<void> {
    this.outage.stop();
    await Promise.all([...this.stores.values()].map((s) => s.flush()));
  }
}
