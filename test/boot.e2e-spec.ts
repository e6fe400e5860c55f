import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MongoClient } from 'mongodb';
import { parse } from 'yaml';
import { EmbeddedMongoServer } from '@app/embedded-mongo';

const root = resolve(__dirname, '..');
const main = join(root, 'dist/apps/api/src/main.js');

function runBuilt(env: Record<string, string>, waitFor: RegExp, timeoutMs = 30_000) {
  const child = spawn(process.execPath, [main], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...env },
  });
  let out = '';
  const done = new Promise<{ code: number | null; out: string }>((resolveDone) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolveDone({ code, out });
    });
  });
  const matched = new Promise<string>((resolveMatch, reject) => {
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = waitFor.exec(out);
      if (m) resolveMatch(m[0]);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void done.then(() => reject(new Error(`exited before ${waitFor}: ${out}`)));
  });
  matched.catch(() => undefined); // tests that expect an early exit await `done` instead
  return { child, done, matched };
}

/**
 * A TCP proxy to a MongoDB server that holds back, on the connection that sends it, the first
 * client message containing `pattern` (and what follows on that connection) until `release()`.
 * `closed` resolves when the client closes any of its connections.
 */
async function holdingProxy(targetPort: number, pattern: Buffer) {
  let release!: () => void;
  const released = new Promise<void>((resolveRelease) => (release = resolveRelease));
  let onHeld!: () => void;
  const held = new Promise<void>((resolveHeld) => (onHeld = resolveHeld));
  let onClosed!: () => void;
  const closed = new Promise<void>((resolveClosed) => (onClosed = resolveClosed));
  let holding = false;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    upstream.pipe(client);
    let queue: Buffer[] | undefined;
    client.on('data', (chunk: Buffer) => {
      if (!queue && !holding && chunk.includes(pattern)) {
        holding = true;
        queue = [];
        void released.then(() => {
          for (const queued of queue!) upstream.write(queued);
          queue = undefined;
        });
        onHeld();
      }
      if (queue) queue.push(chunk);
      else upstream.write(chunk);
    });
    client.on('close', () => {
      onClosed();
      upstream.destroy();
    });
    upstream.on('close', () => client.destroy());
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  return {
    port: (server.address() as AddressInfo).port,
    held,
    closed,
    release,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolveClose) => server.close(() => resolveClose()));
    },
  };
}

/** How a BSON command document names its collection: `find: "<collection>"`. */
function findCommandOn(collection: string): Buffer {
  const length = Buffer.alloc(4);
  length.writeInt32LE(collection.length + 1);
  return Buffer.concat([
    Buffer.from('\x02find\x00', 'latin1'),
    length,
    Buffer.from(`${collection}\x00`),
  ]);
}

describe('the built gateway (node dist/…/main.js, CommonJS requiring ESM Nest)', () => {
  beforeAll(() => {
    if (!existsSync(main)) spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  }, 180_000);

  it('stops with one clear line and a non-zero exit on bad configuration', async () => {
    const { done } = runBuilt({ PORT: 'abc' }, /never/);
    const { code, out } = await done;
    expect(code).not.toBe(0);
    expect(out.trim().split('\n')).toHaveLength(1);
    expect(out.trim()).toBe(
      'Invalid configuration: PORT must be an integer between 0 and 65535 (got "abc")',
    );
  });

  it('requires JWT_SECRET in production', async () => {
    const { done } = runBuilt({ NODE_ENV: 'production', PORT: '0' }, /never/);
    const { code, out } = await done;
    expect(code).not.toBe(0);
    expect(out.trim()).toBe(
      'Invalid configuration: JWT_SECRET is required when NODE_ENV=production (got undefined)',
    );
  });

  it('boots on the embedded store, answers /health, and exits 0 on SIGTERM, saying so', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'wagw-boot-'));
    try {
      const run = runBuilt(
        {
          PORT: '0',
          DATA_DIR: dataDir,
          LOG_LEVEL: 'info',
          WHATSAPP_ENGINE: 'sandbox',
          NODE_ENV: 'test',
        },
        /listening on (http:\/\/\S+?) /,
      );
      const line = await run.matched;
      const url = /http:\/\/\S+/.exec(line)![0].replace('[::1]', '127.0.0.1');
      const health = await fetch(`${url}/health`);
      expect(health.status).toBe(200);
      run.child.kill('SIGTERM');
      const { code, out } = await run.done;
      expect(code === 0 || code === null).toBe(true);
      // An operator sees the shutdown start and its work end, in that order.
      expect(out).toMatch(/Shutting down on SIGTERM[^]*Work in flight finished in \d+ ms/);
      // No JWT_SECRET outside production: a development secret is generated and kept under DATA_DIR.
      expect(existsSync(join(dataDir, 'jwt-secret'))).toBe(true);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
  it('finishes a SIGTERM within seconds while a client keeps a keep-alive connection busy', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'wagw-boot-'));
    // One socket, kept alive: what a load balancer's health check or a busy client uses.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const run = runBuilt(
      {
        PORT: '0',
        DATA_DIR: dataDir,
        LOG_LEVEL: 'warn',
        WHATSAPP_ENGINE: 'sandbox',
        NODE_ENV: 'test',
      },
      /listening on (http:\/\/\S+?) /,
      40_000,
    );
    try {
      const line = await run.matched;
      const { port } = new URL(/http:\/\/\S+/.exec(line)![0].replace('[::1]', '127.0.0.1'));
      let exited: number | undefined;
      void run.done.then(() => (exited = Date.now()));
      type Answer = { status: number; connection?: string; reused: boolean } | { error: string };
      /** One request on the shared socket; `body` is written a piece at a time, `gapMs` apart. */
      const send = (method: string, path: string, body: string[] = [], gapMs = 0) =>
        new Promise<Answer>((resolve) => {
          const req = request(
            {
              host: '127.0.0.1',
              port,
              method,
              path,
              agent,
              headers: body.length ? { 'content-type': 'application/json' } : {},
            },
            (res) => {
              res.resume();
              res.on('end', () =>
                resolve({
                  status: res.statusCode ?? 0,
                  connection: res.headers.connection,
                  reused: req.reusedSocket,
                }),
              );
            },
          );
          req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? 'error' }));
          void (async () => {
            for (const piece of body) {
              req.write(piece);
              await new Promise((r) => setTimeout(r, gapMs));
            }
            req.end();
          })();
        });
      for (let i = 0; i < 5; i++) await send('GET', '/health');
      // A request still running when the shutdown begins (its body arrives slowly), then
      // back-to-back requests on the same socket, as a busy client sends them.
      const slow = send(
        'POST',
        '/api/v1/auth/login',
        ['{"email":', '"nobody@example.test",', '"password":', '"wrong-password-1"', '}'],
        400,
      );
      await new Promise((r) => setTimeout(r, 200));
      const signalled = Date.now();
      run.child.kill('SIGTERM');
      const answer = await slow;
      // It may finish, and its answer tells the client to close the socket.
      expect(answer).toMatchObject({ status: 401, reused: true, connection: 'close' });
      const after: Answer[] = [];
      while (exited === undefined && Date.now() - signalled < 15_000) {
        const next = await send('GET', '/health');
        if ('error' in next) await new Promise((r) => setTimeout(r, 50));
        else after.push(next);
      }
      // Nothing more was served: the listener closed when the shutdown began.
      expect(after).toEqual([]);
      expect(exited! - signalled).toBeLessThan(10_000);
      const { code } = await run.done;
      expect(code === 0 || code === null).toBe(true); // Nest re-raises the signal once done
    } finally {
      agent.destroy();
      if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
      await run.done;
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);

  // Once, a SIGTERM a few seconds into a boot against a standalone store exited 1 with
  // `Fatal: MongoClientClosedError`: Nest's signal handler closed the MongoDB client while a boot
  // step still used it. Here a boot step's query is held at the store until the signal came and
  // the shutdown had time to close the client.
  it('a SIGTERM while a boot step waits on the database lets the boot finish its work, then exits 0 without listening', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'wagw-boot-'));
    const store = await EmbeddedMongoServer.start({ port: 0 });
    const db = new MongoClient(store.uri('wa_boot'));
    const proxy = await holdingProxy(store.port, findCommandOn('users'));
    let run: ReturnType<typeof runBuilt> | undefined;
    try {
      // An email stored with a decomposed accent: the boot rewrites it in NFC (a boot step).
      const decomposed = 'jose\u0301@boot.test';
      await db
        .db()
        .collection('users')
        .insertOne({ email: decomposed, name: 'José', role: 'owner', passwordHash: 'x' });
      run = runBuilt(
        {
          PORT: '0',
          DATA_DIR: dataDir,
          MONGODB_URI: `mongodb://127.0.0.1:${proxy.port}/wa_boot?directConnection=true`,
          LOG_LEVEL: 'warn',
          WHATSAPP_ENGINE: 'sandbox',
          NODE_ENV: 'test',
        },
        /Gateway stopped/,
        50_000,
      );
      await Promise.race([proxy.held, run.done]);
      run.child.kill('SIGTERM');
      // The old shutdown closed the client at once; this one waits for the boot.
      await Promise.race([proxy.closed, new Promise((r) => setTimeout(r, 3_000))]);
      proxy.release();
      const { code, out } = await run.done;
      expect(out).not.toMatch(/Fatal/);
      expect(out).not.toMatch(/listening on/);
      expect(out).toMatch(/Gateway stopped before it listened/);
      expect(code).toBe(0);
      // The boot step finished: nothing was cut off.
      const emails = await db.db().collection('users').distinct('email');
      expect(emails).toEqual([decomposed.normalize('NFC')]);
    } finally {
      if (run && run.child.exitCode === null && run.child.signalCode === null)
        run.child.kill('SIGKILL');
      await run?.done;
      await db.close();
      await proxy.close();
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('docker-compose.yml', () => {
  it('is valid YAML wiring mongo:7 (volume + healthcheck) to the api', () => {
    const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'));
    expect(compose.services.mongo.image).toBe('mongo:7');
    expect(compose.services.mongo.healthcheck.test).toBeDefined();
    expect(compose.services.mongo.volumes.length).toBeGreaterThan(0);
    expect(compose.services.api.build).toBeDefined();
    expect(compose.services.api.environment.MONGODB_URI).toMatch(/^mongodb:\/\/mongo:27017\//);
    expect(compose.services.api.depends_on.mongo.condition).toBe('service_healthy');
    expect(compose.volumes).toHaveProperty('mongo-data');
  });
});
