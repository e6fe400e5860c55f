import { randomBytes } from 'node:crypto';
import { MongoNetworkError } from 'mongodb';
import { OutageRetries } from '@app/common';
import { BatchedAuthStore, BatchedAuthStoreProvider } from './batched-auth-store';
import { InMemoryAuthRowBackend, InMemoryAuthStoreProvider } from './in-memory-auth-store';
import { type AuthWriteFence, AuthWritesFencedError } from './wa-auth-store';

const sampleCreds = () => ({
  noiseKey: { public: new Uint8Array(randomBytes(32)), private: randomBytes(32) },
  signedPreKey: {
    keyPair: { public: randomBytes(33), private: randomBytes(32) },
    signature: randomBytes(64),
    keyId: 1,
  },
  registrationId: 4242,
  advSecretKey: randomBytes(32).toString('base64'),
  me: { id: '15551234567:3@s.whatsapp.net', lid: '999@lid' },
  processedHistoryMessages: [],
  registered: true,
  routingInfo: randomBytes(7),
});

const deferred = () => {
  let resolve!: () => void;
  return { promise: new Promise<void>((r) => (resolve = r)), resolve };
};

describe('BatchedAuthStore', () => {
  it('round-trips creds byte-exactly (Uint8Array and Buffer come back as equal bytes)', async () => {
    const backend = new InMemoryAuthRowBackend();
    const creds = sampleCreds();
    await new BatchedAuthStore('s1', backend).writeCreds(creds);

    const fresh = new BatchedAuthStore('s1', backend); // no cache: read from rows
    const back = await fresh.readCreds();
    expect(Buffer.from(back!.noiseKey.public).equals(Buffer.from(creds.noiseKey.public))).toBe(
      true,
    );
    expect(Buffer.isBuffer(back!.noiseKey.private)).toBe(true);
    expect(back!.signedPreKey.signature.equals(creds.signedPreKey.signature)).toBe(true);
    expect(back!.routingInfo.equals(creds.routingInfo)).toBe(true);
    expect(back!.me).toEqual(creds.me);
    expect(back!.registrationId).toBe(4242);
    expect(await fresh.hasCreds()).toBe(true);
  });

  it('round-trips keys, deletes on null and reports only present ids', async () => {
    const backend = new InMemoryAuthRowBackend();
    const store = new BatchedAuthStore('s1', backend);
    const session = randomBytes(100);
    const preKey = { public: randomBytes(33), private: randomBytes(32) };
    await store.keys.set({ session: { 'a.0': session }, 'pre-key': { '1': preKey, '2': preKey } });
    await store.keys.set({ 'pre-key': { '2': null } });

    const fresh = new BatchedAuthStore('s1', backend);
    const sessions = await fresh.keys.get('session', ['a.0', 'missing']);
    expect(Object.keys(sessions)).toEqual(['a.0']);
    expect((sessions['a.0'] as Buffer).equals(session)).toBe(true);
    const preKeys = await fresh.keys.get('pre-key', ['1', '2']);
    expect(Object.keys(preKeys)).toEqual(['1']);
    expect((preKeys['1'] as typeof preKey).private.equals(preKey.private)).toBe(true);
  });

  it('coalesces same-tick writes into one batch and lands every concurrent write', async () => {
    const backend = new InMemoryAuthRowBackend();
    const spy = vi.spyOn(backend, 'writeMany');
    const store = new BatchedAuthStore('s1', backend);
    const values = Array.from({ length: 200 }, () => randomBytes(16));
    await Promise.all(values.map((v, i) => store.keys.set({ session: { [`id${i}`]: v } })));
    expect(spy).toHaveBeenCalledTimes(1);

    // and across ticks, interleaved with reads
    await Promise.all(
      values.map(async (v, i) => {
        await new Promise((r) => setImmediate(r));
        await store.keys.set({ 'sender-key': { [`k${i}`]: v } });
        await store.keys.get('sender-key', [`k${i}`]);
      }),
    );
    const fresh = new BatchedAuthStore('s1', backend);
    const all = await fresh.keys.get(
      'session',
      values.map((_, i) => `id${i}`),
    );
    const sk = await fresh.keys.get(
      'sender-key',
      values.map((_, i) => `k${i}`),
    );
    values.forEach((v, i) => {
      expect((all[`id${i}`] as Buffer).equals(v)).toBe(true);
      expect((sk[`k${i}`] as Buffer).equals(v)).toBe(true);
    });
  });

  it('serves repeated reads, including misses, from the cache', async () => {
    const backend = new InMemoryAuthRowBackend();
    const spy = vi.spyOn(backend, 'readMany');
    const store = new BatchedAuthStore('s1', backend);
    await store.keys.get('session', ['x']);
    await store.keys.get('session', ['x']);
    expect(spy).toHaveBeenCalledTimes(1);
  });

  it('clear() removes creds and keys, also from the cache', async () => {
    const provider = new InMemoryAuthStoreProvider();
    const store = provider.forSession('s1');
    await store.writeCreds(sampleCreds());
    await store.keys.set({ session: { a: randomBytes(3) } });
    await store.clear();
    expect(await store.hasCreds()).toBe(false);
    expect(await store.keys.get('session', ['a'])).toEqual({});
    expect(provider.backend.rows.has('s1')).toBe(false);
  });

  /** A store of one row whose first database read answers the row as it was, once `meanwhile` ran. */
  async function readSpanning(meanwhile: (store: BatchedAuthStore) => Promise<void>) {
    const backend = new InMemoryAuthRowBackend();
    await new BatchedAuthStore('s1', backend).keys.set({ session: { peer: { v: 1 } } });
    const readMany = backend.readMany.bind(backend);
    const [asked, answer] = [deferred(), deferred()];
    vi.spyOn(backend, 'readMany').mockImplementationOnce(async (...args) => {
      const before = await readMany(...args); // the database's answer: the row before `meanwhile`
      asked.resolve();
      await answer.promise;
      return before;
    });
    const store = new BatchedAuthStore('s1', backend);

    const reading = store.keys.get('session', ['peer']);
    await asked.promise;
    await meanwhile(store);
    answer.resolve();
    await reading;
    return store.keys.get('session', ['peer']);
  }

  it('never caches what a read answers for a row written while the read was on its way', async () => {
    const read = await readSpanning((store) => store.keys.set({ session: { peer: { v: 2 } } }));
    expect(read).toEqual({ peer: { v: 2 } });
  });

  it('clear() is not undone by a read that was on its way', async () => {
    // A logout while Baileys still reads a key.
    expect(await readSpanning((store) => store.clear())).toEqual({});
  });

  it('surfaces a corrupt row as a read error', async () => {
    const backend = new InMemoryAuthRowBackend();
    backend.putRaw('s1', 'creds', 'creds', '{not json');
    await expect(new BatchedAuthStore('s1', backend).readCreds()).rejects.toThrow();
  });
});

describe('BatchedAuthStoreProvider', () => {
  it("a session's store asked for while the previous one still lands its writes (released: a settled close) reads those writes, not the database's older rows", async () => {
    const provider = new InMemoryAuthStoreProvider();
    const store = provider.forSession('s1');
    await store.keys.set({ session: { peer: { v: 1 } } });
    const writeMany = provider.backend.writeMany.bind(provider.backend);
    const [tried, land] = [deferred(), deferred()];
    vi.spyOn(provider.backend, 'writeMany').mockImplementationOnce(async (...args) => {
      tried.resolve();
      await land.promise; // a database outage
      return writeMany(...args);
    });
    const writing = store.keys.set({ session: { peer: { v: 2 } } }); // e.g. a take-back at close
    await tried.promise;
    const released = provider.release('s1');

    const next = provider.forSession('s1'); // the session starts again meanwhile
    expect(await next.keys.get('session', ['peer'])).toEqual({ peer: { v: 2 } });
    land.resolve();
    await Promise.all([writing, released]);
    expect(await next.keys.get('session', ['peer'])).toEqual({ peer: { v: 2 } });
    expect(provider.forSession('s1')).toBe(next);
  });
});

describe('BatchedAuthStore while the database is unreachable', () => {
  it('waits out the outage instead of failing the key reads and writes Baileys decrypts a message with', async () => {
    const backend = new InMemoryAuthRowBackend();
    await new BatchedAuthStore('s1', backend).keys.set({ 'pre-key': { '1': { n: 1 } } });
    const readMany = backend.readMany.bind(backend);
    const writeMany = backend.writeMany.bind(backend);
    vi.spyOn(backend, 'readMany')
      .mockRejectedValueOnce(new MongoNetworkError('connection 7 closed'))
      .mockImplementation(readMany);
    vi.spyOn(backend, 'writeMany')
      .mockRejectedValueOnce(new MongoNetworkError('connection 8 closed'))
      .mockImplementation(writeMany);
    const store = new BatchedAuthStore('s1', backend, 256, new OutageRetries());

    expect(await store.keys.get('pre-key', ['1'])).toEqual({ '1': { n: 1 } });
    await store.keys.set({ 'pre-key': { '1': null }, session: { peer: { s: 2 } } });
    const fresh = new BatchedAuthStore('s1', backend);
    expect(await fresh.keys.get('pre-key', ['1'])).toEqual({});
    expect(await fresh.keys.get('session', ['peer'])).toEqual({ peer: { s: 2 } });
  });
});

describe('BatchedAuthStore revocable keys', () => {
  /** Holds each backend write (the n-th from 0) until it is landed by hand: an outage that ends. */
  const holdWrites = (backend: InMemoryAuthRowBackend) => {
    const tried: ReturnType<typeof deferred>[] = [];
    const landed: ReturnType<typeof deferred>[] = [];
    const nth = (list: ReturnType<typeof deferred>[], n: number) => (list[n] ??= deferred());
    let count = 0;
    const writeMany = backend.writeMany.bind(backend);
    vi.spyOn(backend, 'writeMany').mockImplementation(async (...args) => {
      const n = count++;
      nth(tried, n).resolve();
      await nth(landed, n).promise;
      return writeMany(...args);
    });
    return {
      tried: (n = 0) => nth(tried, n).promise,
      land: (n = 0) => nth(landed, n).resolve(),
    };
  };
  const stored = (backend: InMemoryAuthRowBackend, type: string, ids: string[]) =>
    new BatchedAuthStore('s1', backend).keys.get(type, ids);

  it('takes back the writes not landed: their rows read as before at once, and the database ends as before although they land afterwards', async () => {
    const backend = new InMemoryAuthRowBackend();
    await new BatchedAuthStore('s1', backend).keys.set({
      session: { peer: { v: 1 } },
      'pre-key': { '7': { k: 7 } },
    });
    const store = new BatchedAuthStore('s1', backend);
    await store.keys.get('session', ['peer']); // a warm chat: its keys are cached
    const keys = store.revocableKeys();
    const writes = holdWrites(backend);
    const writing = keys.set({
      session: { peer: { v: 2 }, other: { v: 1 } },
      'pre-key': { '7': null },
    });
    await writes.tried();

    keys.takeBack();
    expect(await store.keys.get('session', ['peer', 'other'])).toEqual({ peer: { v: 1 } });
    expect(await store.keys.get('pre-key', ['7'])).toEqual({ '7': { k: 7 } });
    await expect(keys.set({ session: { peer: { v: 3 } } })).rejects.toThrow(/taken back/);
    writes.land(0);
    writes.land(1);
    await writing;
    await store.flush();
    expect(await stored(backend, 'session', ['peer', 'other'])).toEqual({ peer: { v: 1 } });
    expect(await stored(backend, 'pre-key', ['7'])).toEqual({ '7': { k: 7 } });
  });

  it('keeps the writes that landed: a later one is taken back to the kept value', async () => {
    const backend = new InMemoryAuthRowBackend();
    const store = new BatchedAuthStore('s1', backend);
    const keys = store.revocableKeys();
    await keys.set({ session: { peer: { v: 1 } } });
    keys.keep();
    await keys.set({ session: { peer: { v: 2 } } });
    keys.keep();
    const writes = holdWrites(backend);
    const writing = keys.set({ session: { peer: { v: 3 } } });
    await writes.tried();

    keys.takeBack();
    expect(await store.keys.get('session', ['peer'])).toEqual({ peer: { v: 2 } });
    writes.land(0);
    writes.land(1);
    await writing;
    await store.flush();
    expect(await stored(backend, 'session', ['peer'])).toEqual({ peer: { v: 2 } });
  });

  it('takes a row back to its stored value when the cache did not hold it, and serves that value until it is stored again', async () => {
    const backend = new InMemoryAuthRowBackend();
    await new BatchedAuthStore('s1', backend).keys.set({ session: { peer: { v: 1 } } });
    const store = new BatchedAuthStore('s1', backend, 1);
    const keys = store.revocableKeys();
    const writes = holdWrites(backend);
    const writing = keys.set({ session: { peer: { v: 2 } } });
    await writes.tried(0);
    keys.takeBack();
    writes.land(0);
    await writing;
    await writes.tried(1); // the value before, on its way back

    expect(await stored(backend, 'session', ['peer'])).toEqual({ peer: { v: 2 } });
    await store.keys.get('session', ['a', 'b']); // the one-row cache lets the row go
    expect(await store.keys.get('session', ['peer'])).toEqual({ peer: { v: 1 } });
    writes.land(1);
    await store.flush();
    expect(await stored(backend, 'session', ['peer'])).toEqual({ peer: { v: 1 } });
  });

  it('a write that failed for good (not an outage) is not served from the cache: reads see what the database kept', async () => {
    const backend = new InMemoryAuthRowBackend();
    await new BatchedAuthStore('s1', backend).keys.set({ session: { peer: { v: 1 } } });
    const store = new BatchedAuthStore('s1', backend);
    await store.keys.get('session', ['peer']); // a warm chat: its keys are cached
    vi.spyOn(backend, 'writeMany').mockRejectedValueOnce(new Error('not authorized to write'));
    await expect(store.keys.set({ session: { peer: { v: 2 } } })).rejects.toThrow(/authorized/);
    // Baileys was told the write failed: the message's copy sent again needs the stored keys.
    expect(await store.keys.get('session', ['peer'])).toEqual({ peer: { v: 1 } });
  });

  /** A lease of 30 s by the backend's clock, renewed as long as it is `ours`. */
  const leaseFence = (backend: InMemoryAuthRowBackend) => {
    const inThirtySeconds = () => new Date(backend.now().getTime() + 30_000);
    const lease = { until: inThirtySeconds(), ours: true };
    const fence: AuthWriteFence = {
      held: () => ({ epoch: 1, until: lease.until }),
      renew: vi.fn(async () => {
        if (lease.ours) lease.until = inThirtySeconds();
        return lease.ours;
      }),
    };
    return { lease, fence };
  };
  const databaseClockIn = (ms: number) => () => new Date(Date.now() + ms);

  it('a fenced write that met its lease run out (an outage outlasting it, nobody took over) lands once the lease is renewed', async () => {
    const backend = new InMemoryAuthRowBackend();
    const store = new BatchedAuthStore('s1', backend);
    const { fence } = leaseFence(backend);
    store.fence = fence;
    backend.now = databaseClockIn(60_000);
    await store.keys.set({ session: { peer: { v: 2 } } });
    expect(fence.renew).toHaveBeenCalledTimes(1);
    expect(await stored(backend, 'session', ['peer'])).toEqual({ peer: { v: 2 } });
  });

  it("drops the writes of a session whose lease another instance took, and every later one: the new holder's keys stay", async () => {
    const backend = new InMemoryAuthRowBackend();
    const store = new BatchedAuthStore('s1', backend);
    const { lease, fence } = leaseFence(backend);
    store.fence = fence;
    await store.keys.set({ session: { peer: { v: 1 } } });
    // The lease runs out during an outage; another instance takes the session and moves its keys.
    backend.now = databaseClockIn(60_000);
    lease.ours = false;
    await new BatchedAuthStore('s1', backend).keys.set({ session: { peer: { v: 7 } } });

    await expect(store.keys.set({ session: { peer: { v: 2 }, other: { v: 1 } } })).rejects.toThrow(
      AuthWritesFencedError,
    );
    const writeMany = vi.spyOn(backend, 'writeMany');
    await expect(store.keys.set({ session: { peer: { v: 3 } } })).rejects.toThrow(
      AuthWritesFencedError,
    );
    expect(writeMany).not.toHaveBeenCalled();
    await store.flush(); // dropped on purpose: not a failure of the flush
    expect(await stored(backend, 'session', ['peer', 'other'])).toEqual({ peer: { v: 7 } });
  });

  it("a fenced clear (a logout) on an instance whose session another instance took deletes none of that instance's keys", async () => {
    const backend = new InMemoryAuthRowBackend();
    const store = new BatchedAuthStore('s1', backend);
    const { lease, fence } = leaseFence(backend);
    store.fence = fence;
    await store.writeCreds({ me: 'linked' });
    backend.now = databaseClockIn(60_000);
    lease.ours = false;
    await new BatchedAuthStore('s1', backend).keys.set({ session: { peer: { v: 7 } } });

    await expect(store.clear()).rejects.toThrow(AuthWritesFencedError);
    expect(await stored(backend, 'session', ['peer'])).toEqual({ peer: { v: 7 } });
    expect(await new BatchedAuthStore('s1', backend).hasCreds()).toBe(true);
  });

  it('a fenced clear while the lease is ours deletes every row, renewing a lease that ran out untaken', async () => {
    const backend = new InMemoryAuthRowBackend();
    const store = new BatchedAuthStore('s1', backend);
    const { fence } = leaseFence(backend);
    store.fence = fence;
    await store.writeCreds({ me: 'linked' });
    await store.keys.set({ session: { peer: { v: 1 } } });
    backend.now = databaseClockIn(60_000);
    await store.clear();
    expect(fence.renew).toHaveBeenCalledTimes(1);
    expect(backend.rows.has('s1')).toBe(false);
  });

  it("a session taken back after another instance held it gets a new store: the keys it reads are that instance's, its writes land", async () => {
    const backend = new InMemoryAuthRowBackend();
    const provider = new BatchedAuthStoreProvider(backend);
    const first = leaseFence(backend);
    const store = provider.forSession('s1', first.fence);
    await store.keys.set({ session: { peer: { v: 1 } } });
    await store.keys.get('session', ['peer']); // cached
    backend.now = databaseClockIn(60_000);
    first.lease.ours = false;
    await new BatchedAuthStore('s1', backend).keys.set({ session: { peer: { v: 7 } } });
    await expect(store.keys.set({ session: { peer: { v: 2 } } })).rejects.toThrow(
      AuthWritesFencedError,
    );

    // The other instance let it go; this one takes it again, under a new lease.
    const again = provider.forSession('s1', leaseFence(backend).fence);
    expect(await again.keys.get('session', ['peer'])).toEqual({ peer: { v: 7 } });
    await again.keys.set({ session: { peer: { v: 8 } } });
    expect(await stored(backend, 'session', ['peer'])).toEqual({ peer: { v: 8 } });
  });
});
