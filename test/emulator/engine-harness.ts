import { Agent } from 'node:https';
import pino from 'pino';
import { WaEmulator, type PhoneControl } from '@app/wa-emulator';
import {
  BaileysEngineFactory,
  InMemoryAuthStoreProvider,
  type ContactInfo,
  type InboundMessage,
  type WaCloseInfo,
  type WaConnection,
  type WaLogger,
  type WaOpenInfo,
  type WaAuthStore,
  type WaReadElsewhere,
  type WaStatusUpdate,
} from '@app/whatsapp';

/**
 * Baileys' logs in tests: silent unless TEST_LOG_LEVEL is set (e.g. `warn`, `debug`). Children keep
 * the root level, so the engine's `child(…, { level: 'warn' })` stays quiet too.
 */
export const testLogger = (
  root = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
): WaLogger => {
  const logger = root as unknown as WaLogger;
  return new Proxy(logger, {
    get: (target, prop, receiver) =>
      prop === 'child'
        ? (bindings: Record<string, unknown>) => testLogger(root.child(bindings))
        : Reflect.get(target, prop, receiver),
  });
};

/**
 * The project's real Baileys engine (BaileysEngineFactory) pointed at an emulator,
 * with one auth store that survives reconnects — what SessionRegistry does, minus Nest.
 */
export class EngineHarness {
  readonly auth: WaAuthStore;
  private readonly factory: BaileysEngineFactory;
  connection?: WaConnection;
  readonly messages: InboundMessage[] = [];
  readonly statuses: WaStatusUpdate[] = [];
  readonly readElsewhere: WaReadElsewhere[] = [];
  readonly contacts: ContactInfo[] = [];
  private listeners = new Set<() => void>();

  constructor(
    url: string,
    private readonly sessionId = 'org_emulator',
    auth?: WaAuthStore,
    /** The emulator's `mediaCertificate`, to trust its HTTPS media host (needed to send media). */
    mediaCertificate?: string,
  ) {
    this.auth = auth ?? new InMemoryAuthStoreProvider().forSession(sessionId);
    this.factory = new BaileysEngineFactory({
      browserName: 'Emulator test',
      waWebSocketUrl: url,
      connectTimeoutMs: 5_000,
      ...(mediaCertificate ? { mediaUploadAgent: new Agent({ ca: mediaCertificate }) } : {}),
    });
  }

  /** Opens a connection; resolves with its first outcome (qr / open / close). */
  connect(): Promise<{ qr: string } | { open: WaOpenInfo } | { close: WaCloseInfo }> {
    const conn = this.factory.create({
      sessionId: this.sessionId,
      auth: this.auth,
      logger: testLogger(),
    });
    this.connection = conn;
    conn.on('message', (m) => {
      this.messages.push(m);
      this.notify();
    });
    conn.on('status', (s) => {
      this.statuses.push(s);
      this.notify();
    });
    conn.on('readElsewhere', (read) => {
      this.readElsewhere.push(read);
      this.notify();
    });
    conn.on('contacts', (contacts) => {
      this.contacts.push(...contacts);
      this.notify();
    });
    return new Promise((resolve) => {
      conn.on('qr', (qr) => resolve({ qr }));
      conn.on('open', (open) => resolve({ open }));
      conn.on('close', (close) => {
        this.lastClose = close;
        this.notify();
        resolve({ close });
      });
    });
  }

  lastClose?: WaCloseInfo;

  /**
   * Links this engine by QR: connect, let `scan` (the simulated phone) scan the QR, wait for the
   * 515 restart that follows pair-success, reconnect and expect the connection open.
   */
  async link(scan: (qr: string) => Promise<unknown>): Promise<void> {
    const { qr } = (await this.connect()) as { qr: string };
    const restart = this.nextClose();
    await scan(qr);
    await restart;
    expect(await this.connect()).toHaveProperty('open');
  }

  nextClose(): Promise<WaCloseInfo> {
    const conn = this.connection!;
    return new Promise((resolve) => conn.on('close', resolve));
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }

  /** Resolves when `probe` returns a value (checked on every event and every 50 ms). */
  async until<T>(probe: () => T | undefined, timeoutMs = 10_000, what = 'condition'): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = probe();
      if (value !== undefined && value !== false) return value;
      if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const done = () => {
          this.listeners.delete(done);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(done, 50);
        this.listeners.add(done);
      });
    }
  }

  async close(): Promise<void> {
    await this.connection?.close();
  }
}

export interface LinkedOnEmulator {
  emulator: WaEmulator;
  phone: PhoneControl;
  engine: EngineHarness;
}

/**
 * For one describe block: a fresh emulator, `account`'s phone, and an engine linked to it; each
 * block has its own, since some close and reconnect their engine. `assign` hands them to the block
 * before linking, so its afterAll cleanup is the helper's.
 */
export function linkedOnFreshEmulator(
  account: string,
  assign: (linked: LinkedOnEmulator) => void,
  makeEngine: (emulator: WaEmulator) => EngineHarness = (emulator) =>
    new EngineHarness(emulator.url),
): void {
  let linked: LinkedOnEmulator | undefined;
  beforeAll(async () => {
    const emulator = await WaEmulator.start();
    linked = { emulator, phone: emulator.phone(account), engine: makeEngine(emulator) };
    assign(linked);
    await linked.engine.link((qr) => linked!.phone.scan(qr));
  });
  afterAll(async () => {
    await linked?.engine.close();
    await linked?.emulator.close();
  });
}
