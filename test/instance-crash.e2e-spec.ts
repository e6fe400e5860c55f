import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import request from 'supertest';
import { EmbeddedMongoServer } from '@app/embedded-mongo';
import { getConnectionToken } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import { SESSION_STATE_STORE, SessionRegistry, type SessionStateStore } from '@app/whatsapp';
import { MONGO_TARGET, type MongoTarget } from '../apps/api/src/database/database.module';
import { connectedSession } from './support/sandbox';
import {
  createTestApp,
  registerUser,
  TEST_JWT_SECRET,
  type RegisteredUser,
  type TestApp,
} from './support/test-app';
import { waitFor } from './support/wait';

const root = resolve(__dirname, '..');
/** Both instances' session lease (SESSION_LEASE_TTL_SECONDS): the takeover waits it out, and one adoption round. */
const LEASE_SECONDS = 6;
const main = join(root, 'dist/apps/api/src/main.js');

/** The built gateway in a process of its own, which the test can kill -9 (or freeze). */
async function builtInstance(env: Record<string, string>) {
  const child: ChildProcess = spawn(process.execPath, [main], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...env },
  });
  let out = '';
  const url = await new Promise<string>((resolveUrl, reject) => {
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on (http:\/\/\S+?) /.exec(out);
      if (m) resolveUrl(m[1].replace('[::1]', '127.0.0.1'));
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', () => reject(new Error(`exited before listening: ${out}`)));
  });
  return { child, http: () => request(url) };
}
type Instance = Awaited<ReturnType<typeof builtInstance>>;

/**
 * A gateway instance that dies (kill -9: no graceful close, its leases left to run out) while it
 * holds a session, next to another instance on the same database.
 */
describe('an instance killed while it holds a session', () => {
  beforeAll(() => {
    if (!existsSync(main)) spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  }, 180_000);

  const sessions = '/api/v1/whatsapp/sessions';

  /**
   * A (built, own process) and B (in this process) on one store; the organization's sessions
   * `names` linked on A. `crash` runs with A holding them connected; its own B and owner are passed in.
   */
  async function withSessionsOnA(
    names: string[],
    crash: (a: Instance, b: TestApp, owner: RegisteredUser) => Promise<void>,
  ) {
    const store = await EmbeddedMongoServer.start({ port: 0 });
    const uri = `mongodb://127.0.0.1:${store.port}/wa_crash?directConnection=true`;
    const dataDir = mkdtempSync(join(tmpdir(), 'wagw-crash-'));
    let a: Instance | undefined;
    let b: TestApp | undefined;
    try {
      a = await builtInstance({
        PORT: '0',
        DATA_DIR: dataDir,
        MONGODB_URI: uri,
        WHATSAPP_ENGINE: 'sandbox',
        JWT_SECRET: TEST_JWT_SECRET,
        NODE_ENV: 'test',
        LOG_LEVEL: 'warn',
        SESSION_LEASE_TTL_SECONDS: String(LEASE_SECONDS),
      });
      b = await createTestApp({
        MONGODB_URI: uri,
        SESSION_LEASE_TTL_SECONDS: String(LEASE_SECONDS),
      });
      const owner = await registerUser(b);
      for (const [i, name] of names.entries()) {
        await a.http().post(sessions).set(owner.auth).send({ sessionName: name }).expect(201);
        await waitFor(
          async () =>
            (await a!.http().get(`${sessions}/${name}/qr`).set(owner.auth)).status === 200,
        );
        await a
          .http()
          .post(`/api/v1/whatsapp/sandbox/sessions/${name}/scan`)
          .set(owner.auth)
          .send({ phone: `+20100123456${i}` })
          .expect(200);
        await waitForStatus(b, owner, name, 'connected');
      }
      await crash(a, b, owner);
    } finally {
      if (a && a.child.exitCode === null && a.child.signalCode === null) a.child.kill('SIGKILL');
      await b?.close();
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }

  const statusOf = async (t: TestApp, owner: RegisteredUser, name: string) =>
    (await t.http().get(`${sessions}/${name}/status`).set(owner.auth)).body;
  const waitForStatus = (t: TestApp, owner: RegisteredUser, name: string, status: string) =>
    waitFor(async () => (await statusOf(t, owner, name)).status === status);

  /** After A's death: B holds the session connected within the lease and one adoption round, and sends what B accepted meanwhile. */
  async function takenOverByB(
    b: TestApp,
    owner: RegisteredUser,
    name: string,
    phone: string,
    accepted: string,
    killedAt: number,
  ) {
    const adopted = await waitFor(
      // Both views: the stored status is written just after the connection opens in memory.
      async () => {
        const status = await statusOf(b, owner, name);
        const held = b.app.get(SessionRegistry).isConnected(status.sessionId);
        return held && status.status === 'connected' && status;
      },
      30_000,
      `B to hold ${name} connected`,
    );
    // The lease runs out, then B's next adoption round (every lease), and 5 s to connect.
    expect(Date.now() - killedAt).toBeLessThan(2 * LEASE_SECONDS * 1000 + 5_000);
    expect(adopted).toMatchObject({ status: 'connected', phone });
    await waitFor(
      async () =>
        (await b.http().get(`/api/v1/whatsapp/messages/${accepted}`).set(owner.auth)).body
          .status === 'sent',
      10_000,
      `the message queued for ${name} to be sent by B`,
    );
  }

  const send = async (b: TestApp, owner: RegisteredUser, name: string) =>
    (
      await b
        .http()
        .post('/api/v1/whatsapp/messages/send')
        .set(owner.auth)
        .send({ sessionName: name, to: '+201555000777', text: 'while nobody held it' })
        .expect(202)
    ).body.id as string;

  // One crash for both cases: each costs a lease and an adoption round.
  it('the other instance takes over, once the lease ran out and without a new scan, a session it held connected and one waiting out a reconnect backoff (disconnected), and sends what was queued meanwhile', async () => {
    await withSessionsOnA(['main', 'backoff'], async (a, b, owner) => {
      await a
        .http()
        .post('/api/v1/whatsapp/sandbox/sessions/backoff/disconnect')
        .set(owner.auth)
        .send({ reason: 'connectionLost' })
        .expect(202);
      await waitForStatus(b, owner, 'backoff', 'disconnected'); // A reconnects ~1 s later: killed first
      a.child.kill('SIGKILL');
      const killedAt = Date.now();
      expect((await statusOf(b, owner, 'backoff')).status).toBe('disconnected');
      const queued = [await send(b, owner, 'main'), await send(b, owner, 'backoff')];
      await Promise.all([
        takenOverByB(b, owner, 'main', '201001234560', queued[0], killedAt),
        takenOverByB(b, owner, 'backoff', '201001234561', queued[1], killedAt),
      ]);
    });
  }, 90_000);
});

/**
 * An instance whose event loop stalls past its lease (a long pause, a frozen VM) while another
 * adopts its session. Sandbox engine only, as this whole file: with the emulator each instance
 * runs its own, which knows only the accounts linked through it, so B could not connect A's session.
 */
describe('an instance that stalls past its lease while it holds a session', () => {
  let a: TestApp;
  let b: TestApp;
  const PEER = '+201555000777';

  beforeAll(async () => {
    a = await createTestApp();
    b = await createTestApp({ MONGODB_URI: a.app.get<symbol, MongoTarget>(MONGO_TARGET).uri });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it("A stalls past its lease and B takes the session over: A waking to its connection replaced by B's leaves the session connected on B", async () => {
    const org = await registerUser(a);
    await connectedSession(a, org, 'stalled-on-a', '+201001230098');
    const id = `${org.organization.id}_stalled-on-a`;
    const registryA = a.app.get(SessionRegistry);
    const registryB = b.app.get(SessionRegistry);
    // A's event loop stalls: its renewals do not run and its lease runs out (at once, here) ...
    (registryA as any).leases.stopTimer();
    await a.app
      .get<Connection>(getConnectionToken())
      .collection('whatsapp_sessions')
      .updateOne({ sessionId: id }, { $set: { 'lease.expiresAt': new Date(Date.now() - 1) } });
    expect(await registryB.adoptOrphans()).toContain(id); // ... and B's adoption round takes it.
    await waitFor(async () => registryB.isConnected(id), 10_000, 'B to connect the session');

    // A wakes up to WhatsApp's news that its connection was replaced (by B's).
    await a
      .http()
      .post('/api/v1/whatsapp/sandbox/sessions/stalled-on-a/disconnect')
      .set(org.auth)
      .send({ reason: 'connectionReplaced' })
      .expect(202);
    await waitFor(async () => registryA.liveStatus(id) === undefined, 10_000, 'A to step back');
    const status = await a
      .http()
      .get('/api/v1/whatsapp/sessions/stalled-on-a/status')
      .set(org.auth)
      .expect(200);
    expect(status.body).toMatchObject({ status: 'connected' });
    expect(status.body.lastError ?? null).toBeNull();
    const doc = await b.app.get<symbol, SessionStateStore>(SESSION_STATE_STORE).findBySessionId(id);
    expect(doc).toMatchObject({ lease: { owner: registryB.instanceId } });
    expect(doc!.stoppedUntilAsked).toBeUndefined();
    const sent = await a
      .http()
      .post('/api/v1/whatsapp/messages/send')
      .set(org.auth)
      .send({ sessionName: 'stalled-on-a', to: PEER, text: 'after the takeover' })
      .expect(202);
    await waitFor(
      async () =>
        (await a.http().get(`/api/v1/whatsapp/messages/${sent.body.id}`).set(org.auth)).body
          .status === 'sent',
      10_000,
      'sent by B',
    );
  });
});

/**
 * A contacts resync is only accepted (202): nobody waits for it, so the instance that took it
 * carries it out, whichever that is. One asked of B while A held the session, A stalling before
 * it took it, is carried out by B once B adopted the session.
 */
describe('a contacts resync left for a holder that stalls before it takes it', () => {
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    a = await createTestApp();
    b = await createTestApp({ MONGODB_URI: a.app.get<symbol, MongoTarget>(MONGO_TARGET).uri });
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await b?.close();
    await a?.close();
  });

  it('is carried out by B, the instance that was asked, once B adopted the session and has it connected', async () => {
    const org = await registerUser(a);
    await connectedSession(a, org, 'resync-on-b', '+201001230097');
    const id = `${org.organization.id}_resync-on-b`;
    const registryA = a.app.get(SessionRegistry);
    const registryB = b.app.get(SessionRegistry);
    const database = a.app.get<Connection>(getConnectionToken());
    const addressBook = async () =>
      (
        await b
          .http()
          .get('/api/v1/whatsapp/contacts')
          .query({ sessionName: 'resync-on-b', search: '201555000889' })
          .set(org.auth)
          .expect(200)
      ).body.items as Array<{ addressBookName: string | null }>;
    // A's event loop stalls: no renewal, no look for requests to the sessions it holds.
    (registryA as any).leases.stopTimer();
    await (registryA as any).relay.stop();

    await b
      .http()
      .post('/api/v1/whatsapp/contacts/sync')
      .set(org.auth)
      .send({ sessionName: 'resync-on-b' })
      .expect(202); // left for A, which holds the session
    expect(
      await database.collection('whatsapp_session_requests').findOne({ sessionId: id }),
    ).toMatchObject({
      request: { kind: 'resyncContacts' },
      state: 'asked',
      askedBy: registryB.instanceId,
    });

    // B takes requests only once the phone's address book has a contact to re-read.
    const storeB = b.app.get<symbol, SessionStateStore>(SESSION_STATE_STORE);
    const take = storeB.takeHolderRequests.bind(storeB);
    let letBTake!: () => void;
    const bMayTake = new Promise<void>((resolve) => (letBTake = resolve));
    vi.spyOn(storeB, 'takeHolderRequests').mockImplementation(async (...args) => {
      await bMayTake;
      return take(...args);
    });
    await database
      .collection('whatsapp_sessions')
      .updateOne({ sessionId: id }, { $set: { 'lease.expiresAt': new Date(Date.now() - 1) } });
    expect(await registryB.adoptOrphans()).toContain(id);
    await waitFor(async () => registryB.isConnected(id), 10_000, 'B to connect the session');
    await b
      .http()
      .post('/api/v1/whatsapp/sandbox/sessions/resync-on-b/contacts')
      .set(org.auth)
      .send({ phone: '+201555000889', name: 'Resynced By B' })
      .expect(202);
    await waitFor(async () => (await addressBook()).length === 1, 10_000, 'the contact');
    await database.collection('contacts').deleteMany({ sessionId: id });

    letBTake();
    await waitFor(
      async () => (await addressBook())[0]?.addressBookName === 'Resynced By B',
      5_000,
      'the contact re-read by B',
    );
    expect(
      await database.collection('whatsapp_session_requests').findOne({ sessionId: id }),
    ).toMatchObject({
      state: 'taken',
      takenBy: registryB.instanceId,
      answer: { ok: true },
    });
  });
});
