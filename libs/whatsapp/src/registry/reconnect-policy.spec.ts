import { EventEmitter } from 'node:events';
import type { WaCloseInfo } from '../engine/close-reason';
import type { WaConnection, WaEngineFactory } from '../engine/wa-connection';
import { makeRegistryKit } from '../testing/registry-test-kit';
import { decideOnClose } from './close-policy';

describe('decideOnClose', () => {
  it.each([
    [{ code: 401, reason: 'loggedOut', message: 'x' }, false, 'loggedOut'],
    [{ code: 515, reason: 'restartRequired', message: 'x' }, false, 'reconnectNow'],
    [{ code: 440, reason: 'connectionReplaced', message: 'x' }, false, 'stop'],
    [{ code: 408, reason: 'timedOut', message: 'QR refs attempts ended' }, true, 'stop'],
    [{ code: 408, reason: 'timedOut', message: 'Timed Out' }, false, 'retry'],
    [{ code: 408, reason: 'connectionLost', message: 'x' }, false, 'retry'],
    [{ code: 500, reason: 'badSession', message: 'x' }, false, 'retry'],
    [
      { code: 503, reason: 'unavailableService', message: 'Stream Errored (unknown)' },
      false,
      'retry',
    ],
    [{ code: 403, reason: 'forbidden', message: 'Connection Failure' }, false, 'fail'],
    [{ code: 411, reason: 'multideviceMismatch', message: 'x' }, false, 'fail'],
    [{ code: 428, reason: 'other', message: 'x' }, true, 'retry'],
  ] as const)('%o (waiting for scan: %s) → %s', (info, waitingForScan, action) => {
    expect(decideOnClose(info, { waitingForScan }).action).toBe(action);
  });
});

describe('decideOnClose lastError', () => {
  it('names an unavailable WhatsApp service (503)', () => {
    const info = {
      code: 503,
      reason: 'unavailableService',
      message: 'Stream Errored (unknown)',
    } as const;
    expect(decideOnClose(info, { waitingForScan: false })).toEqual({
      action: 'retry',
      lastError: 'WhatsApp service unavailable (503): Stream Errored (unknown)',
    });
  });
});

/** An engine whose every connection fails like an unreachable WhatsApp. */
function failingEngine(createdAt: number[]): WaEngineFactory {
  return {
    kind: 'baileys',
    create: () => {
      createdAt.push(Date.now());
      const ee = new EventEmitter();
      setImmediate(() =>
        ee.emit('close', {
          code: 408,
          reason: 'connectionLost',
          message: 'WebSocket Error (ENOTFOUND)',
        }),
      );
      return Object.assign(ee, { close: async () => undefined }) as unknown as WaConnection;
    },
  };
}

/**
 * An engine whose connections open, then close on their own (a lost connection) after the number
 * of ms `openFor` gives for each connection in turn (the last one for the rest).
 */
function flappingEngine(
  createdAt: number[],
  openFor: number[],
  close: WaCloseInfo = { code: 428, reason: 'other', message: 'Connection Closed' },
): WaEngineFactory {
  return {
    kind: 'baileys',
    create: () => {
      const holdMs = openFor[Math.min(createdAt.length, openFor.length - 1)];
      createdAt.push(Date.now());
      const ee = new EventEmitter();
      setImmediate(() => {
        ee.emit('open', { jid: '15551234567@s.whatsapp.net', phone: '15551234567' });
        setTimeout(() => ee.emit('close', close), holdMs);
      });
      return Object.assign(ee, { close: async () => undefined }) as unknown as WaConnection;
    },
  };
}

describe('SessionRegistry reconnect backoff (fake timers)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('grows the delay, caps it, then gives up as failed after maxRetries', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const createdAt: number[] = [];
    const kit = makeRegistryKit({
      engine: () => failingEngine(createdAt),
      options: { backoff: { baseMs: 1_000, capMs: 8_000, maxRetries: 6 } },
    });
    const sessionId = await kit.createSession();
    await kit.registry.start(sessionId);
    await vi.advanceTimersByTimeAsync(120_000);

    const gaps = createdAt.slice(1).map((t, i) => t - createdAt[i]);
    // +≤2 ms: the fake engine reports the close on the next (fake) immediate
    const expected = [1000, 2000, 4000, 8000, 8000, 8000];
    expect(gaps).toHaveLength(expected.length);
    gaps.forEach((gap, i) => expect(gap - expected[i]).toBeGreaterThanOrEqual(0));
    gaps.forEach((gap, i) => expect(gap - expected[i]).toBeLessThanOrEqual(2));
    const doc = (await kit.store.findBySessionId(sessionId))!;
    expect(doc.status).toBe('failed');
    expect(doc.lastError).toMatch(/Gave up after 6 reconnect attempts.*ENOTFOUND/);
    expect(doc.lease).toBeUndefined();
    expect(kit.registry.liveCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(600_000);
    expect(createdAt).toHaveLength(7);
  });

  it('jittered delays stay within bounds', async () => {
    const createdAt: number[] = [];
    const kit = makeRegistryKit({
      engine: () => failingEngine(createdAt),
      options: { backoff: { baseMs: 1_000, capMs: 60_000, maxRetries: 5 } },
    });
    const sessionId = await kit.createSession();
    await kit.registry.start(sessionId);
    await vi.advanceTimersByTimeAsync(200_000);
    const gaps = createdAt.slice(1).map((t, i) => t - createdAt[i]);
    expect(gaps).toHaveLength(5);
    gaps.forEach((gap, i) => {
      const nominal = 1000 * 2 ** i;
      expect(gap).toBeGreaterThanOrEqual(nominal * 0.8);
      expect(gap).toBeLessThanOrEqual(nominal * 1.2 + 2);
    });
  });

  it('backs a session off that is closed again seconds after each open, and gives up on it as failed', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const createdAt: number[] = [];
    const kit = makeRegistryKit({
      engine: () => flappingEngine(createdAt, [3_000]),
      options: { backoff: { baseMs: 1_000, capMs: 8_000, maxRetries: 6, stableAfterMs: 60_000 } },
    });
    const sessionId = await kit.createSession();
    await kit.registry.start(sessionId);
    await vi.advanceTimersByTimeAsync(600_000);

    // Each open lasted 3 s: the delays after the closes grow as if it had never connected.
    const gaps = createdAt.slice(1).map((t, i) => t - createdAt[i] - 3_000);
    const expected = [1000, 2000, 4000, 8000, 8000, 8000];
    expect(gaps).toHaveLength(expected.length);
    gaps.forEach((gap, i) => expect(gap - expected[i]).toBeGreaterThanOrEqual(0));
    gaps.forEach((gap, i) => expect(gap - expected[i]).toBeLessThanOrEqual(2));
    const doc = (await kit.store.findBySessionId(sessionId))!;
    expect(doc.status).toBe('failed');
    expect(doc.lastError).toBe(
      'Gave up after 6 reconnect attempts (7 connections closed within 60 s of opening); last error: Connection Closed (428)',
    );
    expect(kit.registry.liveCount()).toBe(0);
  });

  it('reconnects at once when WhatsApp asks for a restart, but backs off and gives up when it asks again right after each open', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const createdAt: number[] = [];
    const restart = {
      code: 515,
      reason: 'restartRequired',
      message: 'Stream Errored (restart required)',
    } as const;
    const kit = makeRegistryKit({
      engine: () => flappingEngine(createdAt, [2_000], restart),
      options: { backoff: { baseMs: 1_000, capMs: 8_000, maxRetries: 4, stableAfterMs: 60_000 } },
    });
    const sessionId = await kit.createSession();
    await kit.registry.start(sessionId);
    await vi.advanceTimersByTimeAsync(600_000);

    const gaps = createdAt.slice(1).map((t, i) => t - createdAt[i] - 2_000);
    const expected = [0, 1000, 2000, 4000];
    expect(gaps).toHaveLength(expected.length);
    gaps.forEach((gap, i) => expect(gap - expected[i]).toBeGreaterThanOrEqual(0));
    gaps.forEach((gap, i) => expect(gap - expected[i]).toBeLessThanOrEqual(2));
    expect((await kit.store.findBySessionId(sessionId))!).toMatchObject({
      status: 'failed',
      lastError:
        'Gave up after 4 reconnect attempts (5 connections closed within 60 s of opening); last error: Stream Errored (restart required) (515)',
    });
  });

  it('gives a session a fresh reconnect budget once a connection stayed open long enough', async () => {
    const createdAt: number[] = [];
    // Two short opens (the whole budget), one that lasts past stableAfterMs, a short one again.
    const kit = makeRegistryKit({
      engine: () => flappingEngine(createdAt, [1_000, 1_000, 61_000, 1_000, 600_000]),
      options: { backoff: { baseMs: 1_000, capMs: 8_000, maxRetries: 2, stableAfterMs: 60_000 } },
    });
    const sessionId = await kit.createSession();
    await kit.registry.start(sessionId);
    await vi.advanceTimersByTimeAsync(120_000);

    expect(createdAt).toHaveLength(5);
    expect(kit.registry.liveStatus(sessionId)).toBe('connected');
    expect((await kit.store.findBySessionId(sessionId))!.status).toBe('connected');
  });

  it('stop() cancels a pending reconnect', async () => {
    const createdAt: number[] = [];
    const kit = makeRegistryKit({ engine: () => failingEngine(createdAt) });
    const sessionId = await kit.createSession();
    await kit.registry.start(sessionId);
    await vi.advanceTimersByTimeAsync(10);
    expect(kit.registry.liveStatus(sessionId)).toBe('disconnected');
    await kit.registry.stop(sessionId);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(createdAt).toHaveLength(1);
  });
});
