import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';
import { loadConfig } from '@app/common';
import { createApp } from '../../apps/api/src/app.setup';

export const TEST_JWT_SECRET = 'e2e-secret-that-is-long-enough-for-hs256-0123456789';

/**
 * The engine createTestApp runs unless a test passes WHATSAPP_ENGINE itself: `sandbox` (default) or
 * `emulator` (E2E_ENGINE=emulator: the real Baileys engine against the in-process WhatsApp emulator,
 * same sandbox control routes). scripts/test.mjs runs a subset of the suites a second time with it.
 */
export const E2E_ENGINE = (process.env.E2E_ENGINE ?? 'sandbox') as 'sandbox' | 'emulator';
/** True when the suites run on the emulator back-end (for tests it cannot serve yet: it.runIf(!onEmulator)). */
export const onEmulator = E2E_ENGINE === 'emulator';

export interface TestApp {
  app: NestExpressApplication;
  url: string;
  dataDir: string;
  http: () => ReturnType<typeof request>;
  /** Closes the app (as SIGTERM would) and boots a new one on the same data directory. */
  restart(): Promise<TestApp>;
  close(): Promise<void>;
}

/**
 * Boots the real application: embedded store in a temp DATA_DIR (or TEST_MONGODB_URI with a fresh
 * database), E2E_ENGINE's engine (sandbox by default), random port.
 */
export async function createTestApp(
  env: Record<string, string> = {},
  dataDir?: string,
  dbName?: string,
): Promise<TestApp> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'wagw-e2e-'));
  const database = dbName ?? `e2e_${Date.now()}_${Math.random().toString(36).slice(2, 8)}`;
  const externalMongo = process.env.TEST_MONGODB_URI;
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    DATA_DIR: dir,
    WHATSAPP_ENGINE: E2E_ENGINE,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    JWT_SECRET: TEST_JWT_SECRET,
    MONGODB_URI: externalMongo
      ? externalMongo.replace(/\/[^/?]*(\?|$)/, `/${database}$1`)
      : undefined,
    ...env,
  });
  const app = await createApp(config);
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await app.close();
  };
  return {
    app,
    url,
    dataDir: dir,
    http: () => request(url),
    close: async () => {
      await close();
      if (!dataDir) rmSync(dir, { recursive: true, force: true });
    },
    restart: async () => {
      await close();
      return createTestApp(env, dir, database);
    },
  };
}

export interface RegisteredUser {
  token: string;
  auth: { Authorization: string };
  user: { id: string; email: string; organizationId: string; role: string };
  organization: { id: string; name: string; modules: string[] };
}

let counter = 0;
export function uniqueEmail(prefix = 'user'): string {
  counter += 1;
  return `${prefix}.${Date.now()}.${counter}@example.test`;
}

let clients = 0;
/**
 * Headers of a request from a client of its own (X-Forwarded-For, believed from loopback): test
 * users register as separate clients would, so suites stay clear of the per-address registration
 * limit (20 an hour), which test/auth.e2e-spec.ts checks on its own.
 */
export function asNewClient(): { 'X-Forwarded-For': string } {
  clients += 1;
  return { 'X-Forwarded-For': `198.18.${(clients >> 8) & 255}.${clients & 255}` };
}

/** Registers a fresh organization + owner and returns a ready Authorization header. */
export async function registerUser(
  t: TestApp,
  overrides: Record<string, unknown> = {},
): Promise<RegisteredUser> {
  const body = {
    organizationName: 'Acme',
    name: 'Owner',
    email: uniqueEmail(),
    password: 'password-123',
    ...overrides,
  };
  const res = await t.http().post('/api/v1/auth/register').set(asNewClient()).send(body);
  if (res.status !== 201)
    throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  return {
    token: res.body.accessToken,
    auth: { Authorization: `Bearer ${res.body.accessToken}` },
    user: res.body.user,
    organization: res.body.organization,
  };
}
