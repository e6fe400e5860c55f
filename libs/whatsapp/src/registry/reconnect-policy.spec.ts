import { EventEmitter } from 'node:events';
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
    [{ code: 503, reason: 'other', message: 'Stream Errored (unknown)' }, false, 'retry'],
    [{ code: 403, reason: 'forbidden', message: 'Connection Failure' }, false, 'fail'],
    [{ code: 411, reason: 'multideviceMismatch', message: 'x' }, false, 'fail'],
    [{ code: 428, reason: 'other', message: 'x' }, true, 'retry'],
  ] as const)('%o (waiting for scan: %s) → %s', (info, waitingForScan, action) => {
    expect(decideOnClose(info, { waitingForScan }).action).toBe(action);
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
