import { EventEmitter2 } from '@nestjs/event-emitter';
import {
  InMemoryAuthRowBackend,
  InMemoryAuthStoreProvider,
} from '../auth-state/in-memory-auth-store';
import type { WaEngineFactory } from '../engine/wa-connection';
import { WA_EVENTS, type WaSessionStatusEvent } from '../events';
import { SessionRegistry } from '../registry/session-registry';
import { SandboxControl } from '../sandbox/sandbox-control';
import { SandboxEngineFactory } from '../sandbox/sandbox-engine.factory';
import { SandboxHub } from '../sandbox/sandbox-hub';
import { InMemorySessionStateStore } from '../session-state/in-memory-session-state.store';
import type { WaSessionStatus } from '../session-state/session-state';
import { resolveWhatsAppOptions, type WhatsAppOptionsInput } from '../whatsapp.options';
import { silentLogger } from './silent-logger';

export interface KitOptions {
  store?: InMemorySessionStateStore;
  auth?: InMemoryAuthStoreProvider;
  options?: WhatsAppOptionsInput;
  engine?: (hub: SandboxHub) => WaEngineFactory;
}

/** A SessionRegistry on the sandbox engine with in-memory stores, recording every domain event. */
export function makeRegistryKit(kit: KitOptions = {}) {
  const store = kit.store ?? new InMemorySessionStateStore();
  const auth = kit.auth ?? new InMemoryAuthStoreProvider();
  // One database: the auth rows are judged by the sessions' clock (a test may set it off).
  if (!kit.auth) auth.backend.now = () => store.now();
  const hub = new SandboxHub();
  const options = resolveWhatsAppOptions({
    engine: 'sandbox',
    qrWaitMs: 2_000,
    restoreOnBoot: false,
    logger: silentLogger(),
    ...kit.options,
  });
  const engine = kit.engine?.(hub) ?? new SandboxEngineFactory(hub, options.qr);
  const emitter = new EventEmitter2();
  const events: { name: string; payload: any }[] = [];
  emitter.onAny((name, payload) => events.push({ name: String(name), payload }));
  const registry = new SessionRegistry(engine, store, auth, options, emitter);
  const control = new SandboxControl(hub);

  const statusTrail = (sessionId: string) =>
    events
      .filter((e) => e.name === WA_EVENTS.sessionStatus && e.payload.sessionId === sessionId)
      .map((e) => (e.payload as WaSessionStatusEvent).status);

  const waitStatus = async (sessionId: string, status: WaSessionStatus, timeoutMs = 3_000) => {
    const got = await registry.waitForStatus(sessionId, (s) => s === status, timeoutMs);
    if (got !== status)
      throw new Error(
        `timed out waiting for ${status}; trail: ${statusTrail(sessionId).join(' → ')}`,
      );
  };

  const createSession = async (sessionName = 'main', organizationId = 'org1') =>
    (await store.create({ organizationId, sessionName })).sessionId;

  /** create → start → QR → scan → connected. */
  const linkedSession = async (sessionName = 'main', phone = '15551234567') => {
    const sessionId = await createSession(sessionName);
    await registry.start(sessionId);
    await waitStatus(sessionId, 'qr_ready');
    await control.scan(sessionId, phone);
    await waitStatus(sessionId, 'connected');
    return sessionId;
  };

  return {
    store,
    auth,
    hub,
    options,
    emitter,
    events,
    registry,
    control,
    statusTrail,
    waitStatus,
    createSession,
    linkedSession,
  };
}

/**
 * Instances on one database: `instance(id)` is a kit of its own (registry, engine, events) on the
 * shared session and auth stores, as processes on one MongoDB are.
 */
export function onOneDatabase(options: WhatsAppOptionsInput = {}) {
  const store = new InMemorySessionStateStore();
  const backend = new InMemoryAuthRowBackend();
  backend.now = () => store.now();
  const instance = (instanceId?: string, more: WhatsAppOptionsInput = {}) =>
    makeRegistryKit({
      store,
      auth: new InMemoryAuthStoreProvider(backend),
      options: { ...options, ...(instanceId ? { instanceId } : {}), ...more },
    });
  return { store, backend, instance };
}

export const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
