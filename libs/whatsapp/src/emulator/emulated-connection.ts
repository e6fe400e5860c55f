import type { Readable } from 'node:stream';
import type { WaAuthStore } from '../auth-state/wa-auth-store';
import type { WaCloseInfo } from '../engine/close-reason';
import type { MediaRef } from '../engine/inbound-message';
import type { OutboundContent, SendResult } from '../engine/outbound-content';
import { TypedEmitter } from '../engine/typed-emitter';
import type {
  ContactInfo,
  WaConnection,
  WaConnectionEvents,
  WaOpenInfo,
  WaReadKey,
} from '../engine/wa-connection';
import type { SandboxPhase } from '../sandbox/sandbox-connection';
import type { EmulatorBackend } from './emulator-backend';

/** The linked device behind an open session, as the emulator knows it. */
export interface EmulatedDevice {
  account: string;
  deviceId: number;
}

const MERGE_WAIT_MS = 3_000;

/**
 * A real Baileys connection (`inner`) to the in-process emulator, seen through the WaConnection
 * contract: every event is forwarded unchanged. On the side it remembers what the sandbox control
 * routes need: the QR on display, the linked account and device id, whether it is open.
 */
export class EmulatedConnection extends TypedEmitter<WaConnectionEvents> implements WaConnection {
  private state: SandboxPhase = 'starting';
  private currentQr?: string;
  private pairingPhone?: string;
  private openInfo?: WaOpenInfo;
  private deviceLookup?: Promise<EmulatedDevice>;
  private knownDevice?: EmulatedDevice;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly closeWaiters = new Set<() => void>();
  /** Contact facts the control pushed in several history-sync chunks, merged back into one event. */
  private readonly pendingMerges = new Map<
    string,
    { parts: number; merged: ContactInfo; timer: NodeJS.Timeout }
  >();

  constructor(
    readonly sessionId: string,
    private readonly inner: WaConnection,
    private readonly auth: WaAuthStore,
    private readonly backend: EmulatorBackend,
  ) {
    super();
    backend.register(this);
    inner.on('connecting', () => this.emit('connecting'));
    inner.on('qr', (qr) => {
      this.state = 'qr';
      this.currentQr = qr;
      this.emit('qr', qr);
    });
    inner.on('open', (info) => {
      this.state = 'open';
      this.currentQr = undefined;
      this.openInfo = info;
      void this.device().catch(() => undefined);
      this.emit('open', info);
    });
    inner.on('close', (info) => this.end(info));
    inner.on('message', (m) => this.emit('message', m));
    inner.on('status', (s) => this.emit('status', s));
    inner.on('readElsewhere', (read) => this.emit('readElsewhere', read));
    inner.on('lidMapping', (m) => this.emit('lidMapping', m));
    inner.on('contacts', (contacts) => this.onContacts(contacts));
  }

  get phase(): SandboxPhase {
    return this.state;
  }

  get qr(): string | undefined {
    return this.currentQr;
  }

  /** Account phone digits once open. */
  get account(): string | undefined {
    return this.openInfo?.phone;
  }

  /** Device id when already known (resolved right after open). */
  get cachedDevice(): EmulatedDevice | undefined {
    return this.knownDevice;
  }

  /** The account and companion device id of this session, from its stored Baileys creds (`me.id` = phone:device@…). */
  device(): Promise<EmulatedDevice> {
    this.deviceLookup ??= this.auth.readCreds().then((creds) => {
      const id = String((creds as { me?: { id?: string } } | undefined)?.me?.id ?? '');
      const match = /^(\d+):(\d+)@/.exec(id);
      if (!match) {
        this.deviceLookup = undefined;
        throw new Error(`session ${this.sessionId} has no linked device id in its creds`);
      }
      this.knownDevice = { account: match[1], deviceId: Number(match[2]) };
      return this.knownDevice;
    });
    return this.deviceLookup;
  }

  /** Runs emulator-side work for this session one task at a time (message order, Signal session setup). */
  enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Resolves when the connection has closed (or after `timeoutMs`). */
  waitForClose(timeoutMs: number): Promise<void> {
    if (this.state === 'ended') return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.closeWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.closeWaiters.add(done);
    });
  }

  /** The control is about to send `parts` history-sync chunks about `jid`: emit them as one contact. */
  expectContactParts(jid: string, parts: number): void {
    if (parts < 2) return;
    const previous = this.pendingMerges.get(jid);
    if (previous) this.flushMerge(jid);
    const timer = setTimeout(() => this.flushMerge(jid), MERGE_WAIT_MS);
    this.pendingMerges.set(jid, { parts, merged: { jid }, timer });
  }

  private onContacts(contacts: ContactInfo[]): void {
    const passThrough: ContactInfo[] = [];
    for (const contact of contacts) {
      const pending = this.pendingMerges.get(contact.jid);
      if (!pending) {
        passThrough.push(contact);
        continue;
      }
      for (const [key, value] of Object.entries(contact))
        if (value !== undefined)
          (pending.merged as unknown as Record<string, unknown>)[key] = value;
      pending.parts -= 1;
      if (pending.parts <= 0) this.flushMerge(contact.jid);
    }
    if (passThrough.length) this.emit('contacts', passThrough);
  }

  private flushMerge(jid: string): void {
    const pending = this.pendingMerges.get(jid);
    if (!pending) return;
    this.pendingMerges.delete(jid);
    clearTimeout(pending.timer);
    if (this.state !== 'ended') this.emit('contacts', [pending.merged]);
  }

  private end(info: WaCloseInfo): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    this.currentQr = undefined;
    this.backend.unregister(this);
    for (const jid of [...this.pendingMerges.keys()])
      clearTimeout(this.pendingMerges.get(jid)!.timer);
    this.pendingMerges.clear();
    this.emit('close', info);
    this.removeAllListeners();
    for (const done of [...this.closeWaiters]) done();
  }

  /** A newer connection of the same session took over the control routes. */
  detach(): void {
    this.backend.unregister(this);
  }

  // ---- WaConnection: straight to the Baileys connection ------------------------

  sendMessage(to: string, content: OutboundContent): Promise<SendResult> {
    return this.inner.sendMessage(to, content);
  }

  downloadMedia(ref: MediaRef, maxBytes: number): Promise<Readable> {
    return this.inner.downloadMedia(ref, maxBytes);
  }

  async requestPairingCode(phoneDigits: string): Promise<string> {
    const code = await this.inner.requestPairingCode(phoneDigits);
    this.pairingPhone = phoneDigits;
    return code;
  }

  /** The phone number of the last pairing code this connection asked for (whose phone must type it). */
  get pairingCodePhone(): string | undefined {
    return this.state === 'open' ? undefined : this.pairingPhone;
  }

  async logout(): Promise<void> {
    try {
      await this.inner.logout();
    } finally {
      this.quietEnd();
    }
  }

  async close(): Promise<void> {
    try {
      await this.inner.close();
    } finally {
      this.quietEnd();
    }
  }

  flushEvents(): void {
    this.inner.flushEvents();
  }

  isLinked(): boolean {
    return this.inner.isLinked();
  }

  resyncContacts(): Promise<void> {
    return this.inner.resyncContacts();
  }

  markRead(keys: WaReadKey[]): Promise<void> {
    return this.inner.markRead(keys);
  }

  /** Closed by us (close/logout): like the Baileys connection, emit nothing more. */
  private quietEnd(): void {
    this.state = 'ended';
    this.backend.unregister(this);
    for (const pending of this.pendingMerges.values()) clearTimeout(pending.timer);
    this.pendingMerges.clear();
    this.removeAllListeners();
    for (const done of [...this.closeWaiters]) done();
  }
}
