import { randomBytes } from 'node:crypto';
import mongoose from 'mongoose';
import { MongoAuthRowBackend } from './mongo-auth-store.provider';
import { BatchedAuthStore } from './batched-auth-store';
import { WaAuthKey, WaAuthKeySchema } from './wa-auth-key.schema';

/**
 * Runs against TEST_MONGODB_URI, else the embedded server (libs/embedded-mongo).
 * Skips itself when neither is available.
 */
describe('MongoAuthRowBackend (MongoDB)', () => {
  let connection: mongoose.Connection | undefined;
  let closeServer: (() => Promise<void>) | undefined;
  let backend: MongoAuthRowBackend;

  beforeAll(async () => {
    let uri = process.env.TEST_MONGODB_URI;
    if (!uri) {
      try {
        const specifier = '@app/embedded-mongo'; // non-literal: this lib does not depend on it at compile time
        const mod = await import(specifier);
        const server = await mod.EmbeddedMongoServer.start({});
        uri = server.uri(`wa_auth_${Date.now()}`) as string;
        closeServer = () => server.close();
      } catch {
        return;
      }
    }
    connection = await mongoose.createConnection(uri).asPromise();
    const model = connection.model(WaAuthKey.name, WaAuthKeySchema);
    await model.syncIndexes();
    backend = new MongoAuthRowBackend(model);
  });

  afterAll(async () => {
    await connection?.close();
    await closeServer?.();
  });

  it('round-trips creds and keys byte-exactly', async (ctx) => {
    if (!connection) return ctx.skip();
    const creds = {
      noiseKey: { public: randomBytes(32), private: new Uint8Array(randomBytes(32)) },
      registrationId: 7,
    };
    const key = randomBytes(500);
    const writer = new BatchedAuthStore('m1', backend);
    await writer.writeCreds(creds);
    await writer.keys.set({
      session: { 'a.0': key },
      'pre-key': { '1': { public: key, private: key } },
    });

    const reader = new BatchedAuthStore('m1', backend);
    const back = await reader.readCreds();
    expect(back!.noiseKey.public.equals(creds.noiseKey.public)).toBe(true);
    expect(Buffer.from(back!.noiseKey.private).equals(Buffer.from(creds.noiseKey.private))).toBe(
      true,
    );
    expect(((await reader.keys.get('session', ['a.0']))['a.0'] as Buffer).equals(key)).toBe(true);
    await reader.keys.set({ session: { 'a.0': null } });
    expect(await new BatchedAuthStore('m1', backend).keys.get('session', ['a.0'])).toEqual({});
  });

  it('lands every concurrent key write and clears per session', async (ctx) => {
    if (!connection) return ctx.skip();
    const values = Array.from({ length: 100 }, () => randomBytes(20));
    const a = new BatchedAuthStore('m2', backend);
    await Promise.all(
      values.map(async (v, i) => {
        if (i % 3 === 0) await new Promise((r) => setImmediate(r));
        await a.keys.set({ 'sender-key': { [`k${i}`]: v } });
      }),
    );
    const other = new BatchedAuthStore('m3', backend);
    await other.writeCreds({ x: 1 });

    const back = await new BatchedAuthStore('m2', backend).keys.get(
      'sender-key',
      values.map((_, i) => `k${i}`),
    );
    values.forEach((v, i) => expect((back[`k${i}`] as Buffer).equals(v)).toBe(true));

    await a.clear();
    expect(await new BatchedAuthStore('m2', backend).keys.get('sender-key', ['k1'])).toEqual({});
    expect(await new BatchedAuthStore('m3', backend).hasCreds()).toBe(true);
  });

  it('a batch fenced by a lease that ran out by the database clock writes nothing, and says so', async (ctx) => {
    if (!connection) return ctx.skip();
    const rows = (value: string) => [
      { type: 'session', id: 'kept', value },
      { type: 'session', id: 'new', value },
      { type: 'pre-key', id: '1', value: null },
    ];
    await backend.writeMany('m4', [
      { type: 'session', id: 'kept', value: 'theirs' },
      { type: 'pre-key', id: '1', value: 'unused' },
    ]);
    // Another instance holds the session since this lease ran out: nothing of ours lands.
    const ranOut = { epoch: 1, until: new Date(Date.now() - 1_000) };
    expect(await backend.writeMany('m4', rows('ours'), ranOut)).toBe(false);
    expect(await backend.readMany('m4', 'session', ['kept', 'new'])).toEqual(
      new Map([['kept', 'theirs']]),
    );
    expect(await backend.readMany('m4', 'pre-key', ['1'])).toEqual(new Map([['1', 'unused']]));
    expect(await new BatchedAuthStore('m4', backend).keys.get('session', ['new'])).toEqual({});

    // Still ours: all of it lands.
    const live = { epoch: 1, until: new Date(Date.now() + 30_000) };
    expect(await backend.writeMany('m4', rows('ours'), live)).toBe(true);
    expect(await backend.readMany('m4', 'session', ['kept', 'new'])).toEqual(
      new Map([
        ['kept', 'ours'],
        ['new', 'ours'],
      ]),
    );
    expect(await backend.readMany('m4', 'pre-key', ['1'])).toEqual(new Map());
  });

  it('a clear fenced by a lease that ran out by the database clock deletes nothing, and says so; a live one deletes every row', async (ctx) => {
    if (!connection) return ctx.skip();
    await backend.writeMany('m5', [
      { type: 'creds', id: 'creds', value: 'theirs' },
      { type: 'session', id: 'peer', value: 'theirs' },
    ]);
    const ranOut = { epoch: 1, until: new Date(Date.now() - 1_000) };
    expect(await backend.deleteAll('m5', ranOut)).toBe(false);
    expect(await backend.readMany('m5', 'creds', ['creds'])).toEqual(
      new Map([['creds', 'theirs']]),
    );
    expect(await backend.readMany('m5', 'session', ['peer'])).toEqual(
      new Map([['peer', 'theirs']]),
    );

    const live = { epoch: 1, until: new Date(Date.now() + 30_000) };
    await backend.writeMany('m5', [{ type: 'session', id: 'more', value: 'x' }], live);
    expect(await backend.deleteAll('m5', live)).toBe(true);
    // Nothing left behind but the fence row, which still names the take.
    const left = await connection.collection('wa_auth_state').find({ sessionId: 'm5' }).toArray();
    expect(left).toEqual([expect.objectContaining({ type: 'lease-fence', epoch: 1 })]);
  });

  it('a batch or clear of an earlier take writes nothing once a later take claimed the fence, its lease live or not', async (ctx) => {
    if (!connection) return ctx.skip();
    const until = new Date(Date.now() + 30_000);
    expect(await backend.claimFence('m6', 1)).toBe(true);
    expect(
      await backend.writeMany(
        'm6',
        [
          { type: 'session', id: 'peer', value: 'first' },
          { type: 'pre-key', id: '1', value: 'unused' },
        ],
        { epoch: 1, until },
      ),
    ).toBe(true);
    expect(await backend.claimFence('m6', 2)).toBe(true);
    // The first take's claim arriving late changes nothing.
    expect(await backend.claimFence('m6', 1)).toBe(false);

    const first = { epoch: 1, until };
    expect(
      await backend.writeMany(
        'm6',
        [
          { type: 'session', id: 'peer', value: 'stale' },
          { type: 'session', id: 'new', value: 'stale' },
          { type: 'pre-key', id: '1', value: null },
        ],
        first,
      ),
    ).toBe(false);
    expect(await backend.deleteAll('m6', first)).toBe(false);
    expect(await backend.readMany('m6', 'session', ['peer', 'new'])).toEqual(
      new Map([['peer', 'first']]),
    );
    expect(await backend.readMany('m6', 'pre-key', ['1'])).toEqual(new Map([['1', 'unused']]));

    // The later take writes, deletes included.
    const second = { epoch: 2, until };
    expect(
      await backend.writeMany(
        'm6',
        [
          { type: 'session', id: 'peer', value: 'second' },
          { type: 'pre-key', id: '1', value: null },
        ],
        second,
      ),
    ).toBe(true);
    expect(await backend.readMany('m6', 'session', ['peer'])).toEqual(
      new Map([['peer', 'second']]),
    );
    expect(await backend.readMany('m6', 'pre-key', ['1'])).toEqual(new Map());
  });
});
