import 'reflect-metadata';
import { loadConfig } from '@app/common';
import { SandboxControl, SessionQueryService, SessionRegistry } from '@app/whatsapp';
import { createApp } from '../apps/api/src/app.setup';
import { OrganizationsService } from '../apps/api/src/organizations/organizations.service';
import { report, round, settleGc, tempDir } from './support';

const N = Number(process.env.BENCH_SESSIONS ?? 500);
const ORGS = Math.ceil(N / 10);

function config(dataDir: string) {
  return loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    DATA_DIR: dataDir,
    WHATSAPP_ENGINE: 'sandbox',
    LOG_LEVEL: 'silent',
    JWT_SECRET: 'x'.repeat(40),
  });
}

const rssMb = () => process.memoryUsage().rss / 1024 / 1024;

async function main(): Promise<void> {
  const data = tempDir('wagw-bench-sessions-');
  try {
    let app = await createApp(config(data.path));
    await app.init();
    const registry = app.get(SessionRegistry);
    const sessions = app.get(SessionQueryService);
    const sandbox = app.get(SandboxControl);
    settleGc();
    const baseline = rssMb();

    // Real organizations: sessions run only for one whose whatsapp module is on.
    const organizations = app.get(OrganizationsService);
    const orgIds: string[] = [];
    for (let o = 0; o < ORGS; o++)
      orgIds.push(String((await organizations.create(`Bench ${o}`))._id));
    const ids: string[] = [];
    const linkStart = Date.now();
    for (let i = 0; i < N; i++) {
      const orgId = orgIds[i % ORGS];
      const created = await sessions.create({ organizationId: orgId, sessionName: `s${i}` });
      await registry.start(created.sessionId);
      await registry.waitForStatus(created.sessionId, (s) => s === 'qr_ready', 10_000);
      await sandbox.scan(created.sessionId, `2010${String(1_000_000 + i)}`);
      ids.push(created.sessionId);
    }
    for (const id of ids) await registry.waitForStatus(id, (s) => s === 'connected', 10_000);
    const linkMs = Date.now() - linkStart;
    const connected = registry.liveSessions().filter((s) => s.status === 'connected').length;
    await new Promise((r) => setTimeout(r, 500));
    settleGc();
    const loaded = rssMb();
    const perSessionMb = (loaded - baseline) / N;
    await app.close();

    const restoreStart = Date.now();
    app = await createApp(config(data.path));
    await app.init(); // the restore starts in onApplicationBootstrap and runs in the background
    const restored = app.get(SessionRegistry);
    for (const id of ids) await restored.waitForStatus(id, (s) => s === 'connected', 30_000);
    const restoreMs = Date.now() - restoreStart;
    const restoredConnected = restored
      .liveSessions()
      .filter((s) => s.status === 'connected').length;
    await app.close();

    report({
      name: 'sessions',
      sessions: N,
      connected,
      rssBaselineMb: round(baseline, 1),
      rssWithSessionsMb: round(loaded, 1),
      rssPerSessionMb: round(perSessionMb, 3),
      targetRssPerSessionMb: 1,
      linkAllMs: linkMs,
      restoreAllMs: restoreMs,
      restoredConnected,
      targetRestoreMs: 10_000,
    });
  } finally {
    data.remove();
  }
}

void main().catch((error) => {
  console.error(error);
  process.exit(1);
});
