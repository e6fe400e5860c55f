/**
 * Webhooks benchmark, against the built app (sandbox engine, embedded store in a temp DATA_DIR) and
 * a local receiver on 127.0.0.1 that verifies every signature:
 *
 * 1. throughput: N events appended to the outbox at once (the call the domain-event listeners make),
 *    spread over S sessions (lanes); events/s from the first append to the last delivery, plus
 *    a single-session run (one lane: strictly sequential, ordered delivery).
 * 2. latency: M inbound messages injected one at a time through the sandbox HTTP route; the time
 *    from the POST to the receiver getting its `message.received` webhook, p50/p95/p99.
 *
 *   npm run build && node dist/bench/webhooks.bench.js   (WEBHOOKS_BENCH_EVENTS=5000 WEBHOOKS_BENCH_MESSAGES=300)
 *
 * The last stdout line is one JSON object: {"name":"webhooks", ...}.
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { loadConfig } from '@app/common';
import { createApp } from '../apps/api/src/app.setup';
import { percentile, round } from './support';
import { EventOutboxService } from '../apps/api/src/events/event-outbox.service';
import { verifyWebhookSignature } from '../apps/api/src/webhooks/webhook-signature';

const N = Number(process.env.WEBHOOKS_BENCH_EVENTS ?? 5_000);
const N_SINGLE = Math.max(100, Math.floor(N / 5));
const SESSIONS = Number(process.env.WEBHOOKS_BENCH_SESSIONS ?? 8);
const M = Number(process.env.WEBHOOKS_BENCH_MESSAGES ?? 300);
const TIMEOUT_MS = 300_000;

const log = (msg: string) => process.stderr.write(`[webhooks.bench] ${msg}\n`);

interface Delivery {
  id: string;
  type: string;
  sessionName: string;
  text?: string;
  at: number;
}

async function startReceiver(secret: () => string) {
  const deliveries: Delivery[] = [];
  const waiters: Array<() => void> = [];
  let badSignatures = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      const raw = Buffer.concat(chunks).toString('utf8');
      const ok = verifyWebhookSignature(
        secret(),
        {
          signature: req.headers['x-webhook-signature'] as string,
          timestamp: req.headers['x-webhook-timestamp'] as string,
        },
        raw,
      );
      if (!ok) badSignatures += 1;
      const body = JSON.parse(raw) as {
        id: string;
        type: string;
        sessionName: string;
        data: { text?: string };
      };
      deliveries.push({
        id: body.id,
        type: body.type,
        sessionName: body.sessionName,
        text: body.data?.text,
        at,
      });
      res.writeHead(200).end();
      for (const w of waiters.splice(0)) w();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    deliveries,
    badSignatures: () => badSignatures,
    /** Resolves when `predicate` holds (checked after each delivery). */
    until: async (predicate: () => boolean, what: string) => {
      const deadline = Date.now() + TIMEOUT_MS;
      while (!predicate()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 200).unref();
        });
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'wagw-bench-webhooks-'));
  let app: NestExpressApplication | undefined;
  let secret = '';
  const receiver = await startReceiver(() => secret);
  try {
    const config = loadConfig({
      NODE_ENV: 'test',
      PORT: '0',
      DATA_DIR: dataDir,
      WHATSAPP_ENGINE: 'sandbox',
      LOG_LEVEL: 'silent',
      JWT_SECRET: 'bench-secret-that-is-long-enough-for-hs256-0123456789',
      WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
      WEBHOOK_RETRY_BASE_MS: '1000',
      EMBEDDED_MONGO_FSYNC: process.env.EMBEDDED_MONGO_FSYNC,
    });
    app = await createApp(config);
    await app.listen(0, '127.0.0.1');
    const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    const call = async (method: string, path: string, body?: object, token?: string) => {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: {
          'Content-Type': 'application/json',
          ...(token ? { Authorization: `Bearer ${token}` } : {}),
        },
        body: body ? JSON.stringify(body) : undefined,
      });
      const text = await res.text();
      if (res.status >= 300) throw new Error(`${method} ${path} → ${res.status} ${text}`);
      return text ? JSON.parse(text) : undefined;
    };

    const registered = await call('POST', '/api/v1/auth/register', {
      organizationName: 'Bench',
      name: 'Owner',
      email: `bench.${Date.now()}@example.test`,
      password: 'password-123',
    });
    const token: string = registered.accessToken;
    const organizationId: string = registered.organization.id;
    const hook = await call(
      'POST',
      '/api/v1/webhooks',
      { url: receiver.url, events: ['message.received'] },
      token,
    );
    secret = hook.secret;

    // 1. Throughput through the outbox → fan-out → worker → receiver.
    const outbox = app.get(EventOutboxService);
    const appendAll = async (count: number, sessions: number, tag: string) => {
      const before = receiver.deliveries.length;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: count }, (_, i) =>
          outbox.append({
            type: 'message.received',
            organizationId,
            sessionName: `${tag}-${i % sessions}`,
            occurredAt: new Date(),
            data: {
              id: `${tag}-${i}`,
              direction: 'in',
              type: 'text',
              text: `${tag} ${i}`,
              status: 'delivered',
            },
          }),
        ),
      );
      const durable = performance.now() - started;
      await receiver.until(
        () => receiver.deliveries.length - before >= count,
        `${count} deliveries (${tag})`,
      );
      const elapsed = performance.now() - started;
      const mine = receiver.deliveries.slice(before);
      // Per-session order: each lane's deliveries arrive in event-id order.
      const lastBySession = new Map<string, string>();
      let outOfOrder = 0;
      for (const d of mine) {
        if ((lastBySession.get(d.sessionName) ?? '') > d.id) outOfOrder += 1;
        lastBySession.set(d.sessionName, d.id);
      }
      return {
        eventsPerSecond: round(count / (elapsed / 1000)),
        appendsPerSecond: round(count / (durable / 1000)),
        seconds: round(elapsed / 1000),
        outOfOrder,
        duplicates: mine.length - new Set(mine.map((d) => d.id)).size,
      };
    };
    log(`warm-up`);
    await appendAll(200, SESSIONS, 'warm');
    log(`throughput: ${N} events over ${SESSIONS} sessions`);
    const multi = await appendAll(N, SESSIONS, 'multi');
    log(
      `  ${multi.eventsPerSecond} events/s delivered (${multi.appendsPerSecond} appends/s durable)`,
    );
    log(`throughput: ${N_SINGLE} events, one session`);
    const single = await appendAll(N_SINGLE, 1, 'single');
    log(`  ${single.eventsPerSecond} events/s delivered`);

    // 2. End-to-end latency: inbound message (sandbox HTTP) → webhook at the receiver.
    await call('POST', '/api/v1/whatsapp/sessions', { sessionName: 'lat' }, token);
    for (let i = 0; ; i++) {
      if (
        (await call('GET', '/api/v1/whatsapp/sessions/lat/status', undefined, token)).status ===
        'qr_ready'
      )
        break;
      if (i > 200) throw new Error('session never showed a QR');
      await new Promise((r) => setTimeout(r, 50));
    }
    await call(
      'POST',
      '/api/v1/whatsapp/sandbox/sessions/lat/scan',
      { phone: '+201001234567' },
      token,
    );
    for (let i = 0; ; i++) {
      if (
        (await call('GET', '/api/v1/whatsapp/sessions/lat/status', undefined, token)).status ===
        'connected'
      )
        break;
      if (i > 200) throw new Error('session never connected');
      await new Promise((r) => setTimeout(r, 50));
    }
    log(`latency: ${M} inbound messages, one at a time`);
    const latencies: number[] = [];
    for (let i = 0; i < M; i++) {
      const text = `latency probe ${i}`;
      const started = performance.now();
      await call(
        'POST',
        '/api/v1/whatsapp/sandbox/sessions/lat/inbound',
        { from: `+2015550${String(i % 1000).padStart(5, '0')}`, text },
        token,
      );
      await receiver.until(
        () => receiver.deliveries.some((d) => d.text === text),
        `webhook for "${text}"`,
      );
      latencies.push(receiver.deliveries.find((d) => d.text === text)!.at - started);
    }
    latencies.sort((a, b) => a - b);
    const latency = {
      p50: round(percentile(latencies, 50)),
      p95: round(percentile(latencies, 95)),
      p99: round(percentile(latencies, 99)),
      max: round(latencies[latencies.length - 1]),
    };
    log(`  p50 ${latency.p50} ms, p95 ${latency.p95} ms`);

    const result = {
      name: 'webhooks',
      events: N,
      sessions: SESSIONS,
      eventsPerSecond: multi.eventsPerSecond,
      appendsPerSecond: multi.appendsPerSecond,
      singleSessionEvents: N_SINGLE,
      singleSessionEventsPerSecond: single.eventsPerSecond,
      inboundMessages: M,
      inboundToWebhookMs: latency,
      outOfOrder: multi.outOfOrder + single.outOfOrder,
      duplicates: multi.duplicates + single.duplicates,
      badSignatures: receiver.badSignatures(),
      store: 'embedded',
      fsync: config.EMBEDDED_MONGO_FSYNC,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await app?.close();
    await receiver.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `[webhooks.bench] failed: ${error instanceof Error ? error.stack : String(error)}\n`,
  );
  process.exit(1);
});
