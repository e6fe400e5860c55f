/**
 * Stats benchmark: seeds N messages (default 1,000,000) across 2 organizations x 5 sessions over the
 * last 90 days, then measures the stats route over HTTP and compares the maintained-counter answer
 * with a full-scan aggregation over the raw messages; the message history route (pages with their
 * total, a `before` cursor, filters, search) is measured on the same data.
 *
 *   npm run build && node dist/bench/stats.bench.js      (STATS_BENCH_MESSAGES=200000 for a quick run)
 *
 * Seeding: raw messages go to `messages` with bulk inserts (for the full scan). The counters are
 * folded with the same functions production uses (bucketsOf + createdIncrement + bucketUpsert, the
 * failure and sample rows of StatsRecorder) and written with the same `$inc` upserts, in bulk.
 * A final slice of messages is replayed through the real EventEmitter2 path (created + every
 * status step, with a duplicate), and the counter answer is checked against the full scan.
 * While the route is measured, the GC pauses of this process (which also runs the embedded store)
 * are recorded per scenario (`gcDuringHttp`), and its memory after seeding (`memory`).
 * The last stdout line is one JSON object: {"name":"stats", ...}.
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants as perfConstants, performance, PerformanceObserver } from 'node:perf_hooks';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { getConnectionToken } from '@nestjs/mongoose';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { AnyBulkWriteOperation, Connection } from 'mongoose';
import { Types } from 'mongoose';
import { loadConfig } from '@app/common';
import { createApp } from '../apps/api/src/app.setup';
import { MONGO_TARGET, type MongoTarget } from '../apps/api/src/database/database.module';
import { round, settleGc, summarize } from './support';
import type { MessageRecord, MessageStatus } from '../apps/api/src/messaging/message.types';
import {
  MESSAGING_EVENTS,
  type MessagesCreatedEvent,
} from '../apps/api/src/messaging/messaging.events';
import type { StatsBucket } from '../apps/api/src/stats/schemas/stats-bucket.schema';
import {
  bucketsOf,
  createdIncrement,
  normalizeFailureReason,
  responseBin,
  sumCounters,
  type CounterIncrement,
} from '../apps/api/src/stats/stats-counters';
import { dayKey, resolveRange } from '../apps/api/src/stats/stats-range';
import {
  type FailureIncrement,
  StatsRepository,
  type ResponseSampleRecord,
} from '../apps/api/src/stats/stats.repository';

const N = Number(process.env.STATS_BENCH_MESSAGES ?? 1_000_000);
const ORGS = 2;
const SESSIONS_PER_ORG = 5;
const SPAN_DAYS = 90;
const CHUNK = 10_000;
const REPLAY = Math.min(Number(process.env.STATS_BENCH_REPLAY ?? 500), Math.floor(N / 10));
const HTTP_RUNS = Number(process.env.STATS_BENCH_RUNS ?? 60);
const HISTORY_RUNS = 20;
const FULL_SCAN_RUNS = 3;
const DAY = 86_400_000;

const log = (msg: string) => process.stderr.write(`[stats.bench] ${msg}\n`);

// Deterministic PRNG (mulberry32) so runs are comparable.
let seed = 0x5eed;
function rand(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
function pick<T>(weighted: Array<[T, number]>): T {
  let r = rand();
  for (const [value, weight] of weighted) {
    if ((r -= weight) < 0) return value;
  }
  return weighted[weighted.length - 1][0];
}
const OUT_STATUS: Array<[MessageStatus, number]> = [
  ['pending', 0.02],
  ['sent', 0.1],
  ['delivered', 0.3],
  ['read', 0.45],
  ['played', 0.03],
  ['failed', 0.1],
];
const TYPES: Array<[string, number]> = [
  ['text', 0.7],
  ['image', 0.1],
  ['voice', 0.06],
  ['document', 0.04],
  ['video', 0.03],
  ['sticker', 0.03],
  ['location', 0.02],
  ['reaction', 0.02],
];
const REASONS: Array<[string, number]> = [
  ['Session not connected', 0.5],
  ['Invalid recipient', 0.3],
  ['Rate limited', 0.15],
  ['Media upload failed', 0.05],
];
const PATH: Record<MessageStatus, MessageStatus[]> = {
  pending: [],
  sent: ['sent'],
  delivered: ['sent', 'delivered'],
  read: ['sent', 'delivered', 'read'],
  played: ['sent', 'delivered', 'read', 'played'],
  failed: ['failed'],
};

interface RawMessage {
  _id: string;
  organizationId: string;
  sessionId: string;
  sessionName: string;
  direction: 'in' | 'out';
  chatJid: string;
  fromMe: boolean;
  type: string;
  status: MessageStatus;
  error?: string;
  attempts: number;
  timestamp: Date;
  createdAt: Date;
  updatedAt: Date;
}

interface StatsBody {
  messages: {
    sent: number;
    received: number;
    byStatus: Record<string, number>;
    byType: Record<string, number>;
  };
  series: Array<{ bucket: string; sent: number; received: number }>;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'wagw-stats-bench-'));
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    DATA_DIR: dataDir,
    WHATSAPP_ENGINE: 'sandbox',
    LOG_LEVEL: 'silent',
    JWT_SECRET: 'stats-bench-secret-that-is-long-enough-0123456789abcdef',
  });
  let app: NestExpressApplication | undefined;
  try {
    app = await createApp(config);
    await app.listen(0, '127.0.0.1');
    const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    const connection = app.get<Connection>(getConnectionToken());
    const repository = app.get(StatsRepository);
    const events = app.get(EventEmitter2);

    // ---- organizations (real registrations: the route needs a token) ----
    const orgs: Array<{ id: string; token: string }> = [];
    for (let i = 0; i < ORGS; i++) {
      const res = await fetch(`${url}/api/v1/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          organizationName: `Bench ${i}`,
          name: 'Owner',
          email: `bench${i}.${Date.now()}@example.test`,
          password: 'password-123',
        }),
      });
      const body = (await res.json()) as { accessToken: string; organization: { id: string } };
      if (res.status !== 201)
        throw new Error(`register failed: ${res.status} ${JSON.stringify(body)}`);
      orgs.push({ id: body.organization.id, token: body.accessToken });
    }

    // ---- seed ----
    const now = Date.now();
    const seedStart = performance.now();
    const bucketIncs = new Map<
      string,
      {
        granularity: 'hour' | 'day';
        org: string;
        session: string;
        start: Date;
        day: string;
        inc: CounterIncrement;
      }
    >();
    const failureCounts = new Map<string, FailureIncrement>();
    const samples: ResponseSampleRecord[] = [];
    const replay: RawMessage[] = [];
    const messages = connection.collection('messages');
    let chunk: RawMessage[] = [];
    let generated = 0;
    let chatSeq = 0;
    const bulkTarget = N - REPLAY;

    /** Folds one `$inc` into the hour and day bucket of `at` (what incrementBuckets would write). */
    const addIncrement = (org: string, session: string, at: Date, inc: CounterIncrement) => {
      for (const { granularity, start, day } of bucketsOf(at)) {
        const key = `${granularity}|${org}|${session}|${start.getTime()}`;
        let entry = bucketIncs.get(key);
        if (!entry)
          bucketIncs.set(key, (entry = { granularity, org, session, start, day, inc: {} }));
        for (const [field, by] of Object.entries(inc))
          entry.inc[field] = (entry.inc[field] ?? 0) + by;
      }
    };
    const addCounters = (m: RawMessage) => {
      addIncrement(m.organizationId, m.sessionName, m.timestamp, createdIncrement(m));
      if (m.direction === 'out' && m.status === 'failed') {
        const reason = normalizeFailureReason(m.error);
        for (const { granularity, start, day } of bucketsOf(m.timestamp)) {
          const key = `${granularity}|${m.organizationId}|${m.sessionName}|${start.getTime()}|${reason}`;
          const entry = failureCounts.get(key);
          if (entry) entry.count += 1;
          else
            failureCounts.set(key, {
              granularity,
              organizationId: m.organizationId,
              sessionName: m.sessionName,
              start,
              day,
              reason,
              count: 1,
            });
        }
      }
    };
    const flush = async () => {
      if (chunk.length === 0) return;
      await messages.insertMany(chunk as never[], { ordered: false });
      chunk = [];
    };
    const emit = async (m: RawMessage, bulk: boolean) => {
      generated += 1;
      if (bulk) {
        chunk.push(m);
        addCounters(m);
        if (chunk.length >= CHUNK) await flush();
      } else {
        replay.push(m);
      }
    };
    const newMessage = (
      direction: 'in' | 'out',
      org: string,
      session: string,
      chatJid: string,
      at: number,
    ): RawMessage => {
      const out = direction === 'out';
      let status: MessageStatus = out ? pick(OUT_STATUS) : 'delivered';
      // The outbox fails pending messages after 24 h; bulk rows have no stats state to move, so keep old ones decided.
      if (status === 'pending' && at < now - 20 * 3_600_000) status = 'sent';
      const timestamp = new Date(at);
      return {
        _id: new Types.ObjectId().toHexString(),
        organizationId: org,
        sessionId: `${org}_${session}`,
        sessionName: session,
        direction,
        chatJid,
        fromMe: out,
        type: pick(TYPES),
        status,
        ...(status === 'failed' ? { error: pick(REASONS) } : {}),
        attempts: out ? 1 : 0,
        timestamp,
        createdAt: timestamp,
        updatedAt: timestamp,
      };
    };

    while (generated < N) {
      const bulk = generated < bulkTarget;
      const org = orgs[Math.floor(rand() * ORGS)].id;
      const session = `s${Math.floor(rand() * SESSIONS_PER_ORG)}`;
      // Replayed messages are recent (the default window); bulk ones spread over SPAN_DAYS.
      const at = bulk ? now - rand() * SPAN_DAYS * DAY : now - rand() * 2 * DAY;
      if (rand() < 0.45) {
        // An inbound message in a fresh chat, answered 75% of the time after 5 s .. ~2 h.
        chatSeq += 1;
        const chatJid = `${String(2010000000000 + chatSeq)}@s.whatsapp.net`;
        const inbound = newMessage('in', org, session, chatJid, at);
        await emit(inbound, bulk);
        if (rand() < 0.75 && generated < N) {
          const delay = Math.round(5_000 * Math.exp(rand() * 7.3));
          const reply = newMessage('out', org, session, chatJid, Math.min(at + delay, now - 1));
          reply.type = 'text';
          await emit(reply, bulk);
          if (bulk && inbound.type !== 'reaction') {
            const responseMs = reply.timestamp.getTime() - inbound.timestamp.getTime();
            const bin = responseBin(responseMs);
            samples.push({
              _id: reply._id,
              organizationId: org,
              sessionName: session,
              chatJid,
              day: dayKey(inbound.timestamp),
              inboundAt: inbound.timestamp,
              respondedAt: reply.timestamp,
              responseMs,
              bin,
            });
            addIncrement(org, session, inbound.timestamp, { [`rt.${bin}`]: 1 });
          }
        }
      } else {
        chatSeq += 1;
        await emit(
          newMessage('out', org, session, `${String(2020000000000 + chatSeq)}@s.whatsapp.net`, at),
          bulk,
        );
      }
      if (generated % 100_000 < 2 && bulk)
        log(`seeded ${generated} messages (${Math.round(performance.now() - seedStart)} ms)`);
    }
    await flush();
    const rawMs = performance.now() - seedStart;

    log(`raw messages inserted in ${Math.round(rawMs)} ms`);
    let phase = performance.now();
    const bucketOps: AnyBulkWriteOperation<StatsBucket>[] = [...bucketIncs.values()].map((b) =>
      StatsRepository.bucketUpsert(b.granularity, b.org, b.session, b.start, b.day, b.inc),
    );
    for (let i = 0; i < bucketOps.length; i += CHUNK)
      await repository.bulkIncrementBuckets(bucketOps.slice(i, i + CHUNK));
    log(`bucket upserts: ${bucketOps.length} in ${Math.round(performance.now() - phase)} ms`);
    phase = performance.now();
    const failureRows = [...failureCounts.values()];
    for (let i = 0; i < failureRows.length; i += CHUNK)
      await repository.bulkIncrementFailures(failureRows.slice(i, i + CHUNK));
    log(`failure upserts: ${failureRows.length} in ${Math.round(performance.now() - phase)} ms`);
    phase = performance.now();
    for (let i = 0; i < samples.length; i += CHUNK)
      await repository.insertResponseSamples(samples.slice(i, i + CHUNK));
    log(`samples: ${samples.length} in ${Math.round(performance.now() - phase)} ms`);

    // The replayed slice goes through production: created (pending) + each status step, one duplicate each.
    const replayStart = performance.now();
    for (const m of replay) {
      const final = m.status;
      const record = {
        ...m,
        status: m.direction === 'out' ? 'pending' : m.status,
      } as unknown as MessageRecord;
      // As Messaging emits it: the messages and the write-ahead note they were stored under.
      const created = {
        sessionId: record.sessionId,
        messages: [record],
        notes: [{ id: `bench-note-${record._id}`, messageIds: [record._id] }],
      } satisfies MessagesCreatedEvent;
      await events.emitAsync(MESSAGING_EVENTS.created, created);
      let previous: MessageStatus = 'pending';
      if (m.direction === 'out') {
        for (const status of PATH[final]) {
          await events.emitAsync(MESSAGING_EVENTS.statusChanged, {
            message: { ...record, status, error: m.error },
            previousStatus: previous,
            status,
            at: new Date(),
          });
          previous = status;
        }
      }
      await events.emitAsync(MESSAGING_EVENTS.created, created); // duplicate
    }
    const replayMs = performance.now() - replayStart;
    if (replay.length) await messages.insertMany(replay as never[], { ordered: false });
    const seedMs = performance.now() - seedStart;
    log(
      `seeded ${N} messages in ${Math.round(seedMs)} ms (raw ${Math.round(rawMs)} ms, ${bucketOps.length} bucket docs, ${failureRows.length} failure docs, ${samples.length} samples, replay ${replay.length} in ${Math.round(replayMs)} ms)`,
    );

    // ---- HTTP measurements ----
    const request = async (org: { token: string }, query: string, route = 'stats') => {
      const started = performance.now();
      const res = await fetch(`${url}/api/v1/whatsapp/${route}${query}`, {
        headers: { authorization: `Bearer ${org.token}` },
      });
      const body = (await res.json()) as StatsBody;
      const ms = performance.now() - started;
      if (res.status !== 200)
        throw new Error(`${route} ${query} → ${res.status} ${JSON.stringify(body)}`);
      return { ms, body };
    };
    // Garbage-collection pauses of this process (it also runs the embedded store) while measuring.
    const memoryAfterSeed = await memorySnapshot(app, false);
    const gcPauses: Array<{ kind: number; ms: number }> = [];
    const gcObserver = new PerformanceObserver((list) => {
      for (const entry of list.getEntries())
        gcPauses.push({
          kind: (entry as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0,
          ms: entry.duration,
        });
    });
    gcObserver.observe({ entryTypes: ['gc'] });
    const gcDuringHttp: Record<string, unknown> = {};
    /** `query` may depend on the organization asking (an id of its own). */
    const measure = async (
      query: string | ((org: number) => string),
      label: string,
      route = 'stats',
      runs = HTTP_RUNS,
    ) => {
      const ask = (i: number) =>
        request(orgs[i % ORGS], typeof query === 'string' ? query : query(i % ORGS), route);
      for (let i = 0; i < 5; i++) await ask(i); // warm-up
      const times: number[] = [];
      await new Promise((resolve) => setImmediate(resolve)); // flush pending gc entries
      gcPauses.length = 0;
      for (let i = 0; i < runs; i++) times.push((await ask(i)).ms);
      await new Promise((resolve) => setImmediate(resolve));
      gcDuringHttp[label] = summarizeGc(gcPauses);
      return summarize(times);
    };
    const until = new Date(now + 1).toISOString();
    // 366 whole UTC days (today included): the longest window the route accepts once widened.
    const since366 = new Date(Math.floor(now / DAY) * DAY - 365 * DAY).toISOString();
    const since7 = new Date(now + 1 - 7 * DAY).toISOString();
    const http = {
      default30dDaily: await measure('', 'default30dDaily'),
      session30dDaily: await measure('?sessionName=s1', 'session30dDaily'),
      days366Daily: await measure(`?since=${since366}&until=${until}`, 'days366Daily'),
      days7Hourly: await measure(`?since=${since7}&until=${until}&granularity=hour`, 'days7Hourly'),
    };
    // Message history of the same organizations (~500k messages each): pages with their total.
    const chats = await Promise.all(
      orgs.map(async (org) => (await messages.findOne({ organizationId: org.id }))!.chatJid),
    );
    // A `before` cursor halfway back: a message older than the middle of the span.
    const halfway = new Date(now - (SPAN_DAYS * DAY) / 2);
    const cursors = await Promise.all(
      orgs.map(
        async (org) =>
          (await messages.findOne({ organizationId: org.id, timestamp: { $lt: halfway } }))!._id,
      ),
    );
    const history = {
      messages: N / ORGS,
      page1: await measure('', 'historyPage1', 'messages', HISTORY_RUNS),
      page50: await measure('?page=50', 'historyPage50', 'messages', HISTORY_RUNS),
      cursor: await measure(
        (org) => `?before=${String(cursors[org])}`,
        'historyCursor',
        'messages',
        HISTORY_RUNS,
      ),
      session: await measure('?sessionName=s1', 'historySession', 'messages', HISTORY_RUNS),
      inbound: await measure('?direction=in&type=text', 'historyInbound', 'messages', HISTORY_RUNS),
      chat: await measure((org) => `?chat=${chats[org]}`, 'historyChat', 'messages', HISTORY_RUNS),
      search: await measure('?search=invoice', 'historySearch', 'messages', HISTORY_RUNS),
    };
    gcObserver.disconnect();
    settleGc();
    const memoryLive = await memorySnapshot(app, true);

    // ---- full scan vs counters, same window (default: last 30 days, daily) ----
    const window = resolveRange({ until: new Date(until) }, new Date(now));
    const fullScan = async (organizationId: string) => {
      const rows = (await messages
        .aggregate([
          { $match: { organizationId, timestamp: { $gte: window.since, $lt: window.until } } },
          {
            $group: {
              _id: {
                day: { $dateToString: { format: '%Y-%m-%d', date: '$timestamp' } },
                direction: '$direction',
                status: '$status',
                type: '$type',
                error: '$error',
              },
              n: { $sum: 1 },
            },
          },
        ])
        .toArray()) as Array<{
        _id: {
          day: string;
          direction: 'in' | 'out';
          status: MessageStatus;
          type: string;
          error?: string;
        };
        n: number;
      }>;
      const perDay = new Map<string, { sent: number; received: number }>();
      const counters = rows.map((r) => {
        const inc = createdIncrement({
          direction: r._id.direction,
          status: r._id.status,
          type: r._id.type,
        });
        const day = perDay.get(r._id.day) ?? { sent: 0, received: 0 };
        day.sent += (inc.sent ?? 0) * r.n;
        day.received += (inc.received ?? 0) * r.n;
        perDay.set(r._id.day, day);
        return Object.fromEntries(Object.entries(inc).map(([k, v]) => [k, v * r.n]));
      });
      const totals = sumCounters(
        counters.map((c) => ({
          sent: c.sent,
          received: c.received,
          byStatus: Object.fromEntries(
            Object.entries(c)
              .filter(([k]) => k.startsWith('byStatus.'))
              .map(([k, v]) => [k.slice(9), v]),
          ),
          byType: Object.fromEntries(
            Object.entries(c)
              .filter(([k]) => k.startsWith('byType.'))
              .map(([k, v]) => [k.slice(7), v]),
          ),
        })),
      );
      return { totals, perDay };
    };
    const scanTimes: number[] = [];
    let scan: Awaited<ReturnType<typeof fullScan>> | undefined;
    for (let i = 0; i < FULL_SCAN_RUNS; i++) {
      const started = performance.now();
      scan = await fullScan(orgs[0].id);
      scanTimes.push(performance.now() - started);
    }
    const counterTimes: number[] = [];
    let counterBody: StatsBody | undefined;
    for (let i = 0; i < FULL_SCAN_RUNS * 5; i++) {
      const r = await request(orgs[0], `?until=${until}`);
      counterTimes.push(r.ms);
      counterBody = r.body;
    }
    const scanSummary = summarize(scanTimes);
    const counterSummary = summarize(counterTimes);
    const seriesFromScan = counterBody!.series.map((p) => ({
      bucket: p.bucket,
      ...(scan!.perDay.get(p.bucket.slice(0, 10)) ?? { sent: 0, received: 0 }),
    }));
    const consistent =
      JSON.stringify({
        sent: counterBody!.messages.sent,
        received: counterBody!.messages.received,
        byStatus: counterBody!.messages.byStatus,
        byType: counterBody!.messages.byType,
      }) ===
        JSON.stringify({
          sent: scan!.totals.sent,
          received: scan!.totals.received,
          byStatus: scan!.totals.byStatus,
          byType: scan!.totals.byType,
        }) && JSON.stringify(seriesFromScan) === JSON.stringify(counterBody!.series);
    if (!consistent)
      log(
        `MISMATCH counters=${JSON.stringify(counterBody!.messages)} scan=${JSON.stringify(scan!.totals)}`,
      );

    const result = {
      name: 'stats',
      messages: N,
      organizations: ORGS,
      sessions: ORGS * SESSIONS_PER_ORG,
      spanDays: SPAN_DAYS,
      store: 'embedded',
      seed: {
        ms: Math.round(seedMs),
        rawInsertMs: Math.round(rawMs),
        bucketDocs: bucketOps.length,
        failureDocs: failureRows.length,
        responseSamples: samples.length,
        replayedThroughEvents: replay.length,
        replayMs: Math.round(replayMs),
        under3Minutes: seedMs < 180_000,
      },
      http,
      history,
      gcDuringHttp,
      memory: {
        afterSeed: memoryAfterSeed,
        liveAfterHttp: memoryLive,
        note: 'MB; afterSeed as found, liveAfterHttp after forced full GCs of both threads; rss is the whole process, the store runs on its own thread (storeThread: its heap, and its documents as BSON in arrayBuffers)',
      },
      targetP95Ms: 200,
      meetsTarget: http.default30dDaily.p95 < 200,
      comparison: {
        window: {
          since: window.since.toISOString(),
          until: window.until.toISOString(),
          organizationMessages: scan!.totals.total,
        },
        counterHttpMs: counterSummary,
        fullScanAggregationMs: scanSummary,
        ratio: Math.round((counterSummary.p50 / scanSummary.p50) * 10_000) / 10_000,
        speedup: round(scanSummary.p50 / counterSummary.p50),
        consistent,
        note: 'full scan = $match + $group over the raw messages collection (no median; totals, byStatus, byType and daily series compared for equality)',
      },
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await app?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The process RSS, and the heaps and buffers of the app's thread and of the store's thread. */
async function memorySnapshot(app: NestExpressApplication, collectGarbage: boolean) {
  const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
  const store = await app.get<MongoTarget>(MONGO_TARGET).embeddedMemory({ collectGarbage });
  const usage = process.memoryUsage();
  return {
    rss: mb(usage.rss),
    heapUsed: mb(usage.heapUsed),
    external: mb(usage.external),
    arrayBuffers: mb(usage.arrayBuffers),
    ...(store && {
      storeThread: {
        heapUsed: mb(store.heapUsed),
        heapTotal: mb(store.heapTotal),
        arrayBuffers: mb(store.arrayBuffers),
      },
    }),
  };
}

/** Count, total and longest pause per kind of collection (scavenges vs mark-compacts). */
function summarizeGc(pauses: Array<{ kind: number; ms: number }>) {
  const kinds: Record<number, string> = {
    [perfConstants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
    [perfConstants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
    [perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
    [perfConstants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
  };
  const out: Record<string, { n: number; totalMs: number; maxMs: number }> = {};
  for (const { kind, ms } of pauses) {
    const entry = (out[kinds[kind] ?? String(kind)] ??= { n: 0, totalMs: 0, maxMs: 0 });
    entry.n += 1;
    entry.totalMs = round(entry.totalMs + ms, 1);
    entry.maxMs = round(Math.max(entry.maxMs, ms), 1);
  }
  return out;
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.stdout.write(
    `${JSON.stringify({ name: 'stats', error: error instanceof Error ? error.message : String(error) })}\n`,
  );
  process.exitCode = 1;
});
