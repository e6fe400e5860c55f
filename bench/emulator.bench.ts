import 'reflect-metadata';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { getConnectionToken } from '@nestjs/mongoose';
import type { NestExpressApplication } from '@nestjs/platform-express';
import jsQR from 'jsqr';
import type { Connection } from 'mongoose';
import { PNG } from 'pngjs';
import { loadConfig } from '@app/common';
import {
  SessionQueryService,
  SessionRegistry,
  WA_EVENTS,
  type WaSessionStatusEvent,
} from '@app/whatsapp';
import { createApp } from '../apps/api/src/app.setup';
import { OrganizationsService } from '../apps/api/src/organizations/organizations.service';
import { report, round, settleGc, summarize, tempDir } from './support';

/**
 * The real Baileys engine through the whole gateway, against the WhatsApp emulator running in a
 * child process (so its own memory and CPU stay out of the gateway's figures):
 *  - RSS/heap per connected idle session: slope between N_LOW and N_HIGH linked sessions, after GC;
 *  - boot restore of N_HIGH already-paired sessions (new app on the same data → all connected);
 *  - inbound ingest: contacts write to several sessions, messages/s until all are stored, with the
 *    CPU each side used meanwhile (the emulator sends fast and then idles; the gateway's time goes to
 *    Baileys and the store, see libs/wa-emulator/README.md "Benchmark").
 */
const N_LOW = Number(process.env.BENCH_EMU_LOW ?? 10);
// 200 is the target size, but linking a real Baileys session (812 pre-keys generated and stored) takes ~0.6 s
// on 2 cores, so 200 would not fit the ~3 minute budget: 120 by default, BENCH_EMU_SESSIONS=200 for the full size.
const N_HIGH = Number(process.env.BENCH_EMU_SESSIONS ?? 120);
const LINK_CONCURRENCY = Number(process.env.BENCH_EMU_LINK_CONCURRENCY ?? 8);
const INGEST_SESSIONS = 10;
const INGEST_MESSAGES = Number(process.env.BENCH_EMU_MESSAGES ?? 1000);
const INGEST_IN_FLIGHT = 32;
const ORGS = Math.ceil(N_HIGH / 10);

const rssMb = () => process.memoryUsage().rss / 1024 / 1024;
const heapMb = () => process.memoryUsage().heapUsed / 1024 / 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const accountOf = (i: number) => `1555${String(2_000_000 + i)}`;
const started = Date.now();
/** Progress on stderr (stdout's last line is the result). */
const progress = (message: string) =>
  process.stderr.write(
    `[emulator bench +${((Date.now() - started) / 1000).toFixed(1)}s] ${message}\n`,
  );

/** The standalone emulator (dist/libs/wa-emulator/src/cli.js), in memory, on a random port. */
async function startEmulator(): Promise<{ child: ChildProcess; url: string; control: string }> {
  const child = spawn(
    process.execPath,
    [join(__dirname, '../libs/wa-emulator/src/cli.js'), '--port', '0'],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => resolve(line.trim()));
    child.once('exit', (code) => reject(new Error(`the emulator exited (${code})`)));
  });
  return {
    child,
    url,
    control: url.replace(/^ws:/, 'http:').replace(/\/ws\/chat$/, '/control/accounts'),
  };
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); undefined elsewhere. */
function processCpuSeconds(pid: number | undefined): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks (100/s)
  } catch {
    return undefined;
  }
}

async function post(url: string, body: object): Promise<unknown> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as unknown;
  if (!res.ok) throw new Error(`${url}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

function decodeQr(dataUrl: string): string {
  const png = PNG.sync.read(Buffer.from(dataUrl.replace(/^data:image\/png;base64,/, ''), 'base64'));
  const code = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
  if (!code) throw new Error('no QR code in the image');
  return code.data;
}

async function pool<T>(
  items: T[],
  concurrency: number,
  run: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await run(items[next++]);
    }),
  );
}

function config(dataDir: string, url: string) {
  return loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    DATA_DIR: dataDir,
    WHATSAPP_ENGINE: 'baileys',
    WA_WEBSOCKET_URL: url,
    LOG_LEVEL: 'silent',
    JWT_SECRET: 'x'.repeat(40),
    SEND_RATE_PER_MINUTE: '0',
  });
}

async function main(): Promise<void> {
  const data = tempDir('wagw-bench-emulator-');
  const emulator = await startEmulator();
  let app: NestExpressApplication | undefined;
  try {
    app = await createApp(config(data.path, emulator.url));
    await app.init();
    const registry = app.get(SessionRegistry);
    const sessions = app.get(SessionQueryService);
    // Real organizations: sessions run only for one whose whatsapp module is on.
    const organizations = app.get(OrganizationsService);
    const orgIds: string[] = [];
    for (let o = 0; o < ORGS; o++)
      orgIds.push(String((await organizations.create(`Bench ${o}`))._id));
    const ids: string[] = [];

    const link = async (i: number) => {
      const created = await sessions.create({
        organizationId: orgIds[i % ORGS],
        sessionName: `s${i}`,
      });
      await registry.start(created.sessionId);
      await registry.waitForStatus(created.sessionId, (s) => s === 'qr_ready', 30_000);
      const qr = decodeQr((await registry.getQr(created.sessionId)).qr);
      await post(`${emulator.control}/${accountOf(i)}/scan`, { qr });
      await registry.waitForStatus(created.sessionId, (s) => s === 'connected', 30_000);
      ids[i] = created.sessionId;
    };
    const idle = async () => {
      await sleep(2_000);
      settleGc();
      await sleep(200);
      settleGc();
    };

    await idle();
    const rssBaseline = rssMb();
    const linkStart = Date.now();
    await pool([...Array(N_LOW).keys()], LINK_CONCURRENCY, link);
    await idle();
    const [rssLow, heapLow] = [rssMb(), heapMb()];
    progress(`${N_LOW} sessions linked: rss ${rssLow.toFixed(1)} MB`);
    await pool([...Array(N_HIGH).keys()].slice(N_LOW), LINK_CONCURRENCY, link);
    const linkAllMs = Date.now() - linkStart;
    await idle();
    const [rssHigh, heapHigh] = [rssMb(), heapMb()];
    progress(`${N_HIGH} sessions linked in ${linkAllMs} ms: rss ${rssHigh.toFixed(1)} MB`);
    const connected = registry.liveSessions().filter((s) => s.status === 'connected').length;
    await app.close();
    app = undefined;

    // Boot restore: a new gateway on the same store; every paired session logs in again.
    const restoreStart = Date.now();
    app = await createApp(config(data.path, emulator.url));
    // Every status a session passes through while restoring, to explain a straggler.
    const trails = new Map<string, string[]>();
    app.get(EventEmitter2).on(WA_EVENTS.sessionStatus, (e: WaSessionStatusEvent) => {
      const step = `+${Date.now() - restoreStart}ms ${e.status}${e.lastError ? ` (${e.lastError})` : ''}`;
      trails.set(e.sessionId, [...(trails.get(e.sessionId) ?? []), step]);
    });
    await app.init();
    const restored = app.get(SessionRegistry);
    // Each session's time to connected: tells a stalled machine (all late) from sessions that
    // waited for a timeout (a few late), as in the bimodal slow runs.
    const restoreTimes = await Promise.all(
      ids.map(async (id) => {
        await restored.waitForStatus(id, (s) => s === 'connected', 120_000);
        return Date.now() - restoreStart;
      }),
    );
    const restoreAllMs = Date.now() - restoreStart;
    const restoreDistribution = summarize(restoreTimes);
    // Sessions far behind the rest (the bimodal slow runs): what they went through.
    const stragglers = ids
      .map((id, i) => ({ id, ms: restoreTimes[i] }))
      .filter(({ ms }) => ms > 2 * restoreDistribution.p95)
      .map(({ id, ms }) => ({ restoreMs: ms, statuses: trails.get(id) ?? [] }));
    for (const s of stragglers) progress(`straggler: ${s.restoreMs} ms: ${s.statuses.join(' → ')}`);
    const restoredConnected = restored
      .liveSessions()
      .filter((s) => s.status === 'connected').length;
    progress(`${restoredConnected} sessions restored in ${restoreAllMs} ms`);

    // Inbound ingest: Signal-encrypted texts from 50 contacts to INGEST_SESSIONS sessions, until all are stored.
    const db = app.get<Connection>(getConnectionToken());
    const before = await db.collection('messages').countDocuments({ direction: 'in' });
    const ingestStart = process.hrtime.bigint();
    const gatewayCpuBefore = process.cpuUsage();
    const emulatorCpuBefore = processCpuSeconds(emulator.child.pid);
    await pool([...Array(INGEST_MESSAGES).keys()], INGEST_IN_FLIGHT, async (k) => {
      await post(`${emulator.control}/${accountOf(k % INGEST_SESSIONS)}/text`, {
        from: `1666${String(3_000_000 + (k % 50))}`,
        // Real senders carry a push name (the gateway keeps it on the contact).
        pushName: `Contact ${k % 50}`,
        text: `bench message ${k}`,
      });
    });
    const sentSeconds = Number(process.hrtime.bigint() - ingestStart) / 1e9;
    const deadline = Date.now() + 120_000;
    progress(`${INGEST_MESSAGES} messages sent by the emulator in ${sentSeconds.toFixed(2)} s`);
    let stored = 0;
    while (
      (stored = (await db.collection('messages').countDocuments({ direction: 'in' })) - before) <
      INGEST_MESSAGES
    ) {
      if (Date.now() > deadline)
        throw new Error(
          `timed out waiting for the ingested messages (${stored}/${INGEST_MESSAGES} stored)`,
        );
      await sleep(50);
    }
    const ingestSeconds = Number(process.hrtime.bigint() - ingestStart) / 1e9;
    const gatewayCpu = process.cpuUsage(gatewayCpuBefore);
    const emulatorCpuAfter = processCpuSeconds(emulator.child.pid);
    await app.close();
    app = undefined;

    const span = N_HIGH - N_LOW;
    report({
      name: 'emulator',
      engine: 'baileys (real) against the WhatsApp emulator in a child process',
      sessionsLow: N_LOW,
      sessions: N_HIGH,
      connected,
      rssBaselineMb: round(rssBaseline, 1),
      rssLowMb: round(rssLow, 1),
      rssHighMb: round(rssHigh, 1),
      rssPerSessionMb: round((rssHigh - rssLow) / span, 3),
      heapPerSessionMb: round((heapHigh - heapLow) / span, 3),
      targetRssPerSessionMb: 2,
      linkAllMs,
      restoreAllMs,
      restoreMsPerSession: restoreDistribution,
      restoreStragglers: stragglers,
      restoredConnected,
      targetRestoreMs: 20_000,
      ingestMessages: INGEST_MESSAGES,
      ingestSessions: INGEST_SESSIONS,
      ingestSendSeconds: round(sentSeconds, 2),
      ingestSeconds: round(ingestSeconds, 2),
      ingestMessagesPerSecond: round(INGEST_MESSAGES / ingestSeconds, 1),
      ingestGatewayCpuSeconds: round((gatewayCpu.user + gatewayCpu.system) / 1e6, 2),
      ...(emulatorCpuBefore !== undefined && emulatorCpuAfter !== undefined
        ? { ingestEmulatorCpuSeconds: round(emulatorCpuAfter - emulatorCpuBefore, 2) }
        : {}),
    });
  } finally {
    await app?.close().catch(() => undefined);
    emulator.child.kill('SIGTERM');
    data.remove();
  }
}

void main().catch((error) => {
  console.error(error);
  process.exit(1);
});
