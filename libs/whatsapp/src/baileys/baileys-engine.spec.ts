import { InMemoryAuthStoreProvider } from '../auth-state/in-memory-auth-store';
import type { WaCloseInfo } from '../engine/close-reason';
import { makeRegistryKit } from '../testing/registry-test-kit';
import { silentLogger } from '../testing/silent-logger';
import { BaileysEngineFactory } from './baileys-engine.factory';

// Nothing listens on port 1: the real Baileys socket fails fast, as it would without network.
const OFFLINE = {
  browserName: 'WA Gateway test',
  waWebSocketUrl: 'ws://127.0.0.1:1/ws/chat',
  connectTimeoutMs: 2_000,
};

describe('BaileysEngine (real Baileys, no network)', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  beforeAll(() => process.on('unhandledRejection', onUnhandled));
  afterAll(() => process.off('unhandledRejection', onUnhandled));

  it('emits connecting, then close with a clear message', async () => {
    const auth = new InMemoryAuthStoreProvider().forSession('org1_raw');
    const connection = new BaileysEngineFactory(OFFLINE).create({
      sessionId: 'org1_raw',
      auth,
      logger: silentLogger(),
    });
    const seen: string[] = [];
    connection.on('connecting', () => seen.push('connecting'));
    const closed = new Promise<WaCloseInfo>((resolve) => connection.on('close', resolve));
    const info = await closed;
    expect(seen).toEqual(['connecting']);
    expect(info.code).toBe(408);
    expect(info.reason).toBe('connectionLost');
    expect(info.message).toMatch(/WebSocket Error.*ECONNREFUSED/);
    await connection.close();
    await auth.readCreds(); // the store stays readable
  });

  it('registry: session goes disconnected with lastError, schedules a retry, no crash or unhandled rejection', async () => {
    const kit = makeRegistryKit({
      engine: () => new BaileysEngineFactory(OFFLINE),
      options: { engine: 'baileys', backoff: { baseMs: 300, capMs: 1_000, maxRetries: 20 } },
    });
    const sessionId = await kit.createSession('real');
    await kit.registry.start(sessionId);
    await kit.waitStatus(sessionId, 'disconnected', 10_000);
    const doc = (await kit.store.findBySessionId(sessionId))!;
    expect(doc.lastError).toMatch(
      /WebSocket Error \(connect ECONNREFUSED 127\.0\.0\.1:1\) \(408\)/,
    );
    expect(kit.registry.liveCount()).toBe(1); // still owned, waiting to retry

    // the retry happens: connecting again, then disconnected again
    await kit.waitStatus(sessionId, 'connecting', 5_000);
    await kit.waitStatus(sessionId, 'disconnected', 10_000);
    expect(kit.statusTrail(sessionId)).toEqual([
      'connecting',
      'disconnected',
      'connecting',
      'disconnected',
    ]);

    await kit.registry.beforeApplicationShutdown();
    expect(kit.registry.liveCount()).toBe(0);
    await new Promise((r) => setTimeout(r, 100));
    expect(unhandled).toEqual([]);
  });
});
