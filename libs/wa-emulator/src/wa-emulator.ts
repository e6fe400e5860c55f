import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  hkdfSync,
  pbkdf2,
  randomBytes,
  randomInt,
} from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  Curve,
  encodeWAMessage,
  jidDecode,
  proto,
  unpadRandomMax16,
  WA_ADV_ACCOUNT_SIG_PREFIX,
  type BinaryNode,
} from '@whiskeysockets/baileys';
import { WebSocketServer } from 'ws';
import { ClientConnection, type ConnectionHandler } from './client-connection';
import { handleControlRequest } from './control-http';
import { historySyncMessage } from './history-sync';
import { decryptMedia, encryptMedia, type EmulatorMediaType } from './media-crypto';
import { MEDIA_MAX_BYTES, MediaHost } from './media-host';
import {
  bytes,
  child,
  children,
  firstChild,
  iqResult,
  node,
  readUIntBE,
  SERVER,
  uintBE,
  unixT,
} from './nodes';
import { createNoiseIdentity, type KeyPair, type NoiseIdentity } from './noise';
import { PhoneControl } from './phone-control';
import { SignalDevice, toWireKey, type PreKeyBundle } from './signal-device';
import { StateStore, type AccountRecord, type CompanionRecord, type UserRecord } from './state';

export interface WaEmulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Port of the HTTPS media host (uploads); 0 (default) picks a free port. */
  mediaPort?: number;
  host?: string;
  /** Persist accounts, linked devices, Signal state and media here; in memory when omitted. */
  dataDir?: string;
  /** Diagnostic log sink (default: silent). */
  log?: (message: string, details?: Record<string, unknown>) => void;
  /** Contacts answer outbound messages by themselves: delivery receipt after `deliveredMs`, read after `readMs`. */
  autoReceipts?: { deliveredMs?: number; readMs?: number };
}

export type ReceiptType = 'delivered' | 'read' | 'played';

/** A message a linked device sent, as the recipient decrypted it. */
export interface OutboundRecord {
  id: string;
  /** Sending account (phone digits) and its companion device id. */
  account: string;
  deviceId: number;
  /** The `to` of the stanza (PN or LID JID of the chat). */
  to: string;
  /** Recipient contact's phone digits. */
  recipient: string;
  message: proto.IMessage;
  text?: string;
  /** Media messages: the file as the recipient downloaded and decrypted it from the media host. */
  media?: OutboundMedia;
  at: Date;
}

/** The attachment of an outbound media message, fetched from the emulator's media host and decrypted. */
export interface OutboundMedia {
  type: EmulatorMediaType;
  mimetype?: string;
  fileName?: string;
  caption?: string;
  /** Voice note (audio with ptt). */
  ptt?: boolean;
  /** The plaintext; set only when fileEncSha256, the MAC and fileSha256 all check out. */
  data?: Buffer;
  /** Why `data` is missing (upload not found, hash or MAC mismatch…). */
  error?: string;
}

/** A receipt the linked device sent for an inbound message. */
export interface ClientReceiptRecord {
  account: string;
  id: string;
  to: string;
  type: string;
}

export interface InboundOptions {
  /** Address the message by the contact's phone JID (default) or by its LID. */
  via?: 'pn' | 'lid';
  id?: string;
  pushName?: string;
  /** Deliver to this linked device of the account only (default: every linked device, as WhatsApp does). */
  deviceId?: number;
}

type PendingPair = {
  account: string;
  deviceId: number;
  keyIndex: number;
  identityKey: Buffer;
  noiseKey: Buffer;
  resolve: (v: PairResult) => void;
  reject: (e: Error) => void;
};
export interface PairResult {
  jid: string;
  lid: string;
  deviceId: number;
}

/** A client's companion_hello (Baileys requestPairingCode), and the phone's side once the code is typed. */
type LinkCodeHello = {
  account: string;
  ref: Buffer;
  /** salt(32) ‖ iv(16) ‖ AES-CTR(companion ephemeral public key), keyed with PBKDF2(code, salt). */
  wrappedEphemeral: Buffer;
  noiseKey: Buffer;
  at: number;
  primary?: {
    profile: { pushName?: string; lid?: string };
    ephemeral: KeyPair;
    companionEphemeral: Buffer;
    identityPublic: Buffer;
    identityPrivate: Buffer;
    resolve: (v: PairResult) => void;
    reject: (e: Error) => void;
  };
};

const PAIR_REF_COUNT = 6;
const LINK_CODE_FINISH_TIMEOUT_MS = 10_000;
/** WhatsApp's pairing-code key: PBKDF2-SHA256, 2 << 16 iterations, 32 bytes. */
const pairingCodeKey = (code: string, salt: Buffer) =>
  new Promise<Buffer>((resolve, reject) =>
    pbkdf2(code, salt, 2 << 16, 32, 'sha256', (err, key) => (err ? reject(err) : resolve(key))),
  );
const aesCtr = (key: Buffer, iv: Buffer, data: Buffer) => {
  const cipher = createCipheriv('aes-256-ctr', key, iv);
  return Buffer.concat([cipher.update(data), cipher.final()]);
};
const QR_PREFIX = /^.*#/;
const msgId = () => `3EB0${randomBytes(9).toString('hex').toUpperCase()}`;
const randomLid = () =>
  `${randomInt(1, 9)}${Array.from({ length: 14 }, () => randomInt(0, 10)).join('')}`;
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const unb64 = (s: string) => Buffer.from(s, 'base64');

/**
 * A local WhatsApp Web server for the real Baileys client: Noise XX over a loopback
 * WebSocket, binary nodes, QR pairing, login, Signal-encrypted messages with simulated
 * phones and contacts, receipts, media, logout/replace/drop. See README.md.
 */
export class WaEmulator implements ConnectionHandler {
  private readonly connections = new Set<ClientConnection>();
  private readonly pendingRefs = new Map<string, ClientConnection>();
  private readonly pendingPairs = new Map<ClientConnection, PendingPair>();
  private readonly linkCodes = new Map<ClientConnection, LinkCodeHello>();
  private readonly offlineQueue = new Map<string, BinaryNode[]>();
  private readonly media = new Map<string, Buffer>();
  readonly outbound: OutboundRecord[] = [];
  readonly clientReceipts: ClientReceiptRecord[] = [];
  private readonly outboundWaiters = new Set<() => void>();
  private readonly qrWaiters = new Set<() => void>();
  private port = 0;

  private constructor(
    private readonly store: StateStore,
    private readonly noise: NoiseIdentity,
    private readonly http: Server,
    private readonly wss: WebSocketServer,
    private readonly mediaHost: MediaHost,
    private readonly options: WaEmulatorOptions,
  ) {}

  static async start(options: WaEmulatorOptions = {}): Promise<WaEmulator> {
    const store = new StateStore(options.dataDir);
    if (!store.state.noise) {
      const s = Curve.generateKeyPair();
      const r = Curve.generateKeyPair();
      store.state.noise = {
        staticPub: b64(s.public),
        staticPriv: b64(s.private),
        rootPub: b64(r.public),
        rootPriv: b64(r.private),
      };
      store.save();
    }
    const n = store.state.noise;
    const noise = createNoiseIdentity(
      { public: unb64(n.staticPub), private: unb64(n.staticPriv) } as KeyPair,
      { public: unb64(n.rootPub), private: unb64(n.rootPriv) } as KeyPair,
    );
    const http = createServer();
    const wss = new WebSocketServer({ server: http, path: '/ws/chat' });
    const log = (message: string, details?: Record<string, unknown>) =>
      options.log?.(message, details);
    const mediaHost = await MediaHost.start(
      options.host ?? '127.0.0.1',
      options.mediaPort ?? 0,
      log,
    );
    const emulator = new WaEmulator(store, noise, http, wss, mediaHost, options);
    http.on('request', (req, res) => emulator.serveHttp(req, res));
    wss.on('connection', (ws) => {
      const conn = new ClientConnection(ws, noise, emulator, (err) =>
        emulator.log('connection error', { err: String(err) }),
      );
      emulator.connections.add(conn);
    });
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
    }).catch(async (err: unknown) => {
      await mediaHost.close();
      throw err;
    });
    emulator.port = (http.address() as AddressInfo).port;
    return emulator;
  }

  /** The WebSocket URL to give Baileys as `waWebSocketUrl`. */
  get url(): string {
    return `ws://${this.host}:${this.port}/ws/chat`;
  }

  get httpUrl(): string {
    return `http://${this.host}:${this.port}`;
  }

  /**
   * PEM certificate of the HTTPS media host (self-signed, made at start): what a client must trust
   * to upload media, e.g. Baileys' `fetchAgent: new https.Agent({ ca: emulator.mediaCertificate })`.
   */
  get mediaCertificate(): string {
    return this.mediaHost.cert;
  }

  /** `host:port` of the HTTPS media host (what media_conn announces). */
  get mediaHostname(): string {
    return this.mediaHost.hostname;
  }

  /** Public key of the emulator's Noise root certificate (sign-checked by clients that verify it). */
  get rootPublicKey(): Buffer {
    return this.noise.rootKey.public;
  }

  private get host(): string {
    return this.options.host ?? '127.0.0.1';
  }

  /** Controls the simulated phone of one WhatsApp account (digits, with country code, optional +). */
  phone(accountPhone: string): PhoneControl {
    return new PhoneControl(this, digits(accountPhone));
  }

  async close(): Promise<void> {
    for (const conn of [...this.connections]) conn.terminate();
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeAllConnections();
    await this.mediaHost.close();
    this.store.save();
  }

  log(message: string, details?: Record<string, unknown>): void {
    this.options.log?.(message, details);
  }

  // ---------------------------------------------------------------- users & accounts

  /** Finds or creates the simulated WhatsApp user with this phone number. */
  user(phone: string, profile: { pushName?: string; lid?: string } = {}): UserRecord {
    const p = digits(phone);
    let user = this.store.state.users[p];
    if (!user) {
      user = {
        phone: p,
        lid: profile.lid ? digits(profile.lid) : randomLid(),
        pushName: profile.pushName ?? `User ${p.slice(-4)}`,
        device: SignalDevice.create().toJSON(),
      };
      this.store.state.users[p] = user;
      this.store.save();
    } else if (profile.pushName && profile.pushName !== user.pushName) {
      user.pushName = profile.pushName;
      this.store.save();
    }
    return user;
  }

  /** The simulated user with this LID (digits, optional `@lid`), if any. */
  userByLid(lid: string): UserRecord | undefined {
    const d = digits(lid.split('@')[0]);
    return Object.values(this.store.state.users).find((u) => u.lid === d);
  }

  private userByJid(jid: string, create = true): UserRecord | undefined {
    const decoded = jidDecode(jid);
    if (!decoded?.user) return undefined;
    if (decoded.server === 'lid')
      return Object.values(this.store.state.users).find((u) => u.lid === decoded.user);
    if (decoded.server !== 's.whatsapp.net') return undefined;
    return create ? this.user(decoded.user) : this.store.state.users[decoded.user];
  }

  private device(user: UserRecord): SignalDevice {
    return SignalDevice.restore(user.device);
  }

  account(phone: string): AccountRecord | undefined {
    return this.store.state.accounts[digits(phone)];
  }

  private liveConnections(account: string, deviceId?: number): ClientConnection[] {
    return [...this.connections].filter(
      (c) =>
        !c.closed && c.account === account && (deviceId === undefined || c.deviceId === deviceId),
    );
  }

  isConnected(account: string): boolean {
    return this.liveConnections(account).length > 0;
  }

  activeCompanions(account: string): CompanionRecord[] {
    return Object.values(this.account(account)?.companions ?? {}).filter((c) => !c.removed);
  }

  // ---------------------------------------------------------------- connection lifecycle

  onHandshake(conn: ClientConnection, payload: proto.ClientPayload): void {
    if (
      payload.username !== null &&
      payload.username !== undefined &&
      Number(payload.username) > 0
    ) {
      this.login(conn, String(payload.username), payload.device ?? 0);
      return;
    }
    if (!payload.devicePairingData) {
      conn.send(node('failure', { reason: '400' }));
      conn.close();
      return;
    }
    conn.registration = payload.devicePairingData;
    conn.refs = Array.from(
      { length: PAIR_REF_COUNT },
      () => `2@${randomBytes(24).toString('base64')}`,
    );
    for (const ref of conn.refs) this.pendingRefs.set(ref, conn);
    conn.send(
      node('iq', { id: randomBytes(4).toString('hex'), type: 'set', xmlns: 'md', from: SERVER }, [
        node(
          'pair-device',
          {},
          conn.refs.map((ref) => node('ref', {}, Buffer.from(ref))),
        ),
      ]),
    );
    for (const w of [...this.qrWaiters]) w();
  }

  private login(conn: ClientConnection, account: string, deviceId: number): void {
    const companion = this.account(account)?.companions[deviceId];
    const noiseOk =
      companion && conn.clientStaticKey && b64(conn.clientStaticKey) === companion.noiseKey;
    if (!companion || companion.removed || !noiseOk) {
      this.log('login refused', { account, deviceId, known: !!companion });
      conn.send(node('failure', { reason: '401', location: 'emulator' }));
      setImmediate(() => conn.close());
      return;
    }
    for (const old of this.liveConnections(account, deviceId)) {
      old.send(node('stream:error', {}, [node('conflict', { type: 'replaced' })]));
      old.close();
    }
    conn.account = account;
    conn.deviceId = deviceId;
    const user = this.user(account);
    conn.send(
      node('success', {
        t: unixT(),
        props: '1',
        abprops: '1',
        location: 'emulator',
        creation: String(Math.floor(companion.linkedAt / 1000)),
        lid: `${user.lid}:${deviceId}@lid`,
      }),
    );
  }

  onClose(conn: ClientConnection): void {
    this.connections.delete(conn);
    for (const ref of conn.refs) this.pendingRefs.delete(ref);
    const primary = this.linkCodes.get(conn)?.primary;
    this.linkCodes.delete(conn);
    if (primary) primary.reject(new Error('the client disconnected while pairing by code'));
    const pair = this.pendingPairs.get(conn);
    if (pair) {
      this.pendingPairs.delete(conn);
      pair.reject(new Error('the client disconnected before confirming the pairing'));
    }
  }

  async onNode(conn: ClientConnection, n: BinaryNode): Promise<void> {
    switch (n.tag) {
      case 'iq':
        return this.onIq(conn, n);
      case 'message':
        return this.onClientMessage(conn, n);
      case 'receipt':
        return this.onClientReceipt(conn, n);
      default:
        return; // ack, presence, ib (unified_session), chatstate…
    }
  }

  // ---------------------------------------------------------------- pairing

  /** Waits until some client is showing a QR (has pending pairing refs). */
  async waitForPairingClient(timeoutMs = 10_000): Promise<void> {
    if (this.pendingRefs.size) return;
    await this.waitUntil(
      this.qrWaiters,
      () => this.pendingRefs.size > 0,
      timeoutMs,
      'a client waiting for a QR scan',
    );
  }

  /** The phone of `account` scans `qr` (the string Baileys emits as connection.update.qr). */
  async scan(
    account: string,
    qr: string,
    profile: { pushName?: string; lid?: string } = {},
  ): Promise<PairResult> {
    const [ref, noiseB64, identityB64, advB64] = qr.replace(QR_PREFIX, '').split(',');
    const conn = this.pendingRefs.get(ref);
    if (!conn || conn.closed) throw new Error('QR code is not (or no longer) valid');
    const noiseKey = unb64(noiseB64);
    if (!conn.clientStaticKey?.equals(noiseKey))
      throw new Error('QR noise key does not match the connection');
    return this.pairDevice(conn, account, profile, unb64(identityB64), noiseKey, unb64(advB64));
  }

  /**
   * The phone links `conn` as a new companion of `account`: signs its identity key (ADV) with the
   * phone's identity, HMACs it with the shared `advSecret`, sends pair-success; resolves on pair-device-sign.
   */
  private pairDevice(
    conn: ClientConnection,
    account: string,
    profile: { pushName?: string; lid?: string },
    identityKey: Buffer,
    noiseKey: Buffer,
    advSecret: Buffer,
  ): Promise<PairResult> {
    const user = this.user(account, profile);
    const acc = (this.store.state.accounts[user.phone] ??= {
      phone: user.phone,
      nextDeviceId: 1,
      companions: {},
    });
    const deviceId = acc.nextDeviceId++;
    const keyIndex = deviceId;
    for (const r of conn.refs) this.pendingRefs.delete(r);
    conn.refs = [];

    const phoneDevice = this.device(user);
    const details = proto.ADVDeviceIdentity.encode({
      rawId: randomInt(1, 2 ** 31),
      timestamp: Math.floor(Date.now() / 1000),
      keyIndex,
    }).finish();
    const accountSignature = Curve.sign(
      phoneDevice.identityPrivate,
      Buffer.concat([WA_ADV_ACCOUNT_SIG_PREFIX, details, identityKey]),
    );
    const signed = proto.ADVSignedDeviceIdentity.encode({
      details,
      accountSignatureKey: toWireKey(phoneDevice.identityPublic),
      accountSignature,
    }).finish();
    const hmac = createHmac('sha256', advSecret).update(signed).digest();
    const deviceIdentity = proto.ADVSignedDeviceIdentityHMAC.encode({
      details: signed,
      hmac,
    }).finish();
    const jid = `${user.phone}:${deviceId}@s.whatsapp.net`;
    const lid = `${user.lid}:${deviceId}@lid`;

    const result = new Promise<PairResult>((resolve, reject) => {
      this.pendingPairs.set(conn, {
        account: user.phone,
        deviceId,
        keyIndex,
        identityKey,
        noiseKey,
        resolve,
        reject,
      });
    });
    this.store.save();
    conn.send(
      node('iq', { id: randomBytes(4).toString('hex'), type: 'set', from: SERVER, t: unixT() }, [
        node('pair-success', {}, [
          node('device-identity', { 'key-index': String(keyIndex) }, Buffer.from(deviceIdentity)),
          node('platform', { name: 'smba' }),
          node('device', { jid, lid }),
          node('biz', { name: user.pushName }),
        ]),
      ]),
    );
    return result;
  }

  // ---------------------------------------------------------------- pairing by code

  /** Waits until a client of `account` has asked for a pairing code (companion_hello). */
  async waitForPairingCodeClient(account: string, timeoutMs = 10_000): Promise<void> {
    await this.waitUntil(
      this.qrWaiters,
      () => this.linkCodeClient(digits(account)) !== undefined,
      timeoutMs,
      'a client asking for a pairing code',
    );
  }

  private linkCodeClient(account: string): ClientConnection | undefined {
    const waiting = [...this.linkCodes.entries()].filter(
      ([conn, hello]) => !conn.closed && hello.account === account && !hello.primary,
    );
    return waiting.sort((a, b) => b[1].at - a[1].at)[0]?.[0];
  }

  /**
   * The phone of `account` types the pairing code a client (Baileys `requestPairingCode`) shows:
   * unwraps the client's ephemeral key with it, sends its own (wrapped with the typed code) in a
   * `link_code_companion_reg` notification, and links the device once the client's
   * companion_finish key bundle decrypts. A wrong code shows there (the bundle does not decrypt).
   */
  async enterPairingCode(
    account: string,
    code: string,
    profile: { pushName?: string; lid?: string } = {},
  ): Promise<PairResult> {
    await this.waitForPairingCodeClient(account, 2_000).catch(() => undefined);
    const conn = this.linkCodeClient(digits(account));
    const hello = conn && this.linkCodes.get(conn);
    if (!conn || !hello) throw new Error(`no client is waiting for a pairing code for ${account}`);
    const typed = code.replace(/[-\s]/g, '').toUpperCase();
    const companionKey = await pairingCodeKey(typed, hello.wrappedEphemeral.subarray(0, 32));
    const companionEphemeral = aesCtr(
      companionKey,
      hello.wrappedEphemeral.subarray(32, 48),
      hello.wrappedEphemeral.subarray(48, 80),
    );
    const ephemeral = Curve.generateKeyPair();
    const salt = randomBytes(32);
    const iv = randomBytes(16);
    const wrapped = Buffer.concat([
      salt,
      iv,
      aesCtr(await pairingCodeKey(typed, salt), iv, Buffer.from(ephemeral.public)),
    ]);
    const phoneDevice = this.device(this.user(account, profile));
    const result = new Promise<PairResult>((resolve, reject) => {
      const timer = setTimeout(
        () => fail(new Error('the client did not finish pairing by code (wrong code?)')),
        LINK_CODE_FINISH_TIMEOUT_MS,
      );
      const fail = (err: Error) => {
        clearTimeout(timer);
        if (this.linkCodes.get(conn)?.primary) this.linkCodes.delete(conn);
        reject(err);
      };
      hello.primary = {
        profile,
        ephemeral: ephemeral as KeyPair,
        companionEphemeral,
        identityPublic: toWireKey(phoneDevice.identityPublic),
        identityPrivate: phoneDevice.identityPrivate,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: fail,
      };
    });
    conn.send(
      node(
        'notification',
        { from: SERVER, type: 'link_code_companion_reg', id: msgId(), t: unixT() },
        [
          node('link_code_companion_reg', {}, [
            node('link_code_pairing_ref', {}, hello.ref),
            node('primary_identity_pub', {}, toWireKey(phoneDevice.identityPublic)),
            node('link_code_pairing_wrapped_primary_ephemeral_pub', {}, wrapped),
          ]),
        ],
      ),
    );
    return result;
  }

  private onLinkCodeIq(conn: ClientConnection, iq: BinaryNode, reg: BinaryNode): void {
    const refuse = (code: string, text: string) =>
      conn.send(
        node('iq', { id: iq.attrs.id, type: 'error', from: SERVER }, [
          node('error', { code, text }),
        ]),
      );
    if (reg.attrs.stage === 'companion_hello') {
      const account = digits(jidDecode(reg.attrs.jid)?.user ?? '');
      const wrappedEphemeral = bytes(
        child(reg, 'link_code_pairing_wrapped_companion_ephemeral_pub'),
      );
      const noiseKey = bytes(child(reg, 'companion_server_auth_key_pub'));
      if (
        conn.account ||
        !account ||
        !wrappedEphemeral ||
        wrappedEphemeral.length < 80 ||
        !noiseKey
      )
        return refuse('400', 'bad-request');
      if (!conn.clientStaticKey?.equals(noiseKey)) return refuse('401', 'not-authorized');
      this.linkCodes
        .get(conn)
        ?.primary?.reject(new Error('the client asked for a new pairing code'));
      const ref = Buffer.from(`2@${randomBytes(24).toString('base64')}`);
      this.linkCodes.set(conn, { account, ref, wrappedEphemeral, noiseKey, at: Date.now() });
      conn.send(
        iqResult(iq, [
          node('link_code_companion_reg', {}, [node('link_code_pairing_ref', {}, ref)]),
        ]),
      );
      for (const w of [...this.qrWaiters]) w();
      return;
    }
    if (reg.attrs.stage !== 'companion_finish') return refuse('400', 'bad-request');
    const hello = this.linkCodes.get(conn);
    const primary = hello?.primary;
    const bundle = bytes(child(reg, 'link_code_pairing_wrapped_key_bundle'));
    const companionIdentity = bytes(child(reg, 'companion_identity_public'));
    const ref = bytes(child(reg, 'link_code_pairing_ref'));
    if (!hello || !primary || !bundle || !companionIdentity || !ref?.equals(hello.ref))
      return refuse('404', 'item-not-found');
    this.linkCodes.delete(conn);
    let advSecret: Buffer;
    try {
      const companionShared = Buffer.from(
        Curve.sharedKey(primary.ephemeral.private, primary.companionEphemeral),
      );
      const key = Buffer.from(
        hkdfSync(
          'sha256',
          companionShared,
          bundle.subarray(0, 32),
          'link_code_pairing_key_bundle_encryption_key',
          32,
        ),
      );
      const decipher = createDecipheriv('aes-256-gcm', key, bundle.subarray(32, 44));
      decipher.setAuthTag(bundle.subarray(bundle.length - 16));
      const plain = Buffer.concat([
        decipher.update(bundle.subarray(44, bundle.length - 16)),
        decipher.final(),
      ]);
      if (
        !plain.subarray(0, 32).equals(companionIdentity) ||
        !plain.subarray(32, 64).equals(primary.identityPublic)
      )
        throw new Error('identity keys in the key bundle do not match');
      const identityShared = Buffer.from(
        Curve.sharedKey(primary.identityPrivate, companionIdentity),
      );
      advSecret = Buffer.from(
        hkdfSync(
          'sha256',
          Buffer.concat([companionShared, identityShared, plain.subarray(64, 96)]),
          Buffer.alloc(0),
          'adv_secret',
          32,
        ),
      );
    } catch (err) {
      this.log('pairing by code failed', { err: String(err) });
      refuse('400', 'bad-request');
      primary.reject(new Error('wrong pairing code: the key bundle does not decrypt'));
      return;
    }
    conn.send(iqResult(iq));
    this.pairDevice(
      conn,
      hello.account,
      primary.profile,
      companionIdentity,
      hello.noiseKey,
      advSecret,
    ).then(primary.resolve, primary.reject);
  }

  private onPairSigned(conn: ClientConnection): void {
    const pair = this.pendingPairs.get(conn);
    const reg = conn.registration;
    if (!pair || !reg) return;
    this.pendingPairs.delete(conn);
    const acc = this.store.state.accounts[pair.account];
    acc.companions[pair.deviceId] = {
      deviceId: pair.deviceId,
      keyIndex: pair.keyIndex,
      noiseKey: b64(pair.noiseKey),
      identityKey: b64(reg.eIdent ?? pair.identityKey),
      registrationId: readUIntBE(Buffer.from(reg.eRegid ?? [])),
      signedPreKey: {
        keyId: readUIntBE(Buffer.from(reg.eSkeyId ?? [])),
        publicKey: b64(reg.eSkeyVal ?? Buffer.alloc(0)),
        signature: b64(reg.eSkeySig ?? Buffer.alloc(0)),
      },
      preKeys: [],
      historySynced: false,
      removed: false,
      linkedAt: Date.now(),
    };
    this.store.save();
    const user = this.user(pair.account);
    pair.resolve({
      jid: `${user.phone}:${pair.deviceId}@s.whatsapp.net`,
      lid: `${user.lid}:${pair.deviceId}@lid`,
      deviceId: pair.deviceId,
    });
    // WhatsApp asks the new companion to reconnect with its fresh credentials.
    setTimeout(() => {
      conn.send(node('stream:error', { code: '515' }));
      conn.close();
    }, 20);
  }

  // ---------------------------------------------------------------- iq

  private async onIq(conn: ClientConnection, iq: BinaryNode): Promise<void> {
    const { type, xmlns } = iq.attrs;
    const first = firstChild(iq);
    if (type === 'result' || type === 'error') {
      if (first?.tag === 'pair-device-sign') this.onPairSigned(conn);
      return;
    }
    const companion =
      conn.account !== undefined && conn.deviceId !== undefined
        ? this.account(conn.account)?.companions[conn.deviceId]
        : undefined;
    switch (xmlns) {
      case 'encrypt':
        return this.onEncryptIq(conn, iq, companion);
      case 'usync':
        return conn.send(iqResult(iq, [this.usync(conn, iq)]));
      case 'passive':
        conn.send(iqResult(iq));
        if (companion && first?.tag === 'active') this.afterActive(conn, companion);
        return;
      case 'w:sync:app:state': {
        const collections = children(child(iq, 'sync'), 'collection').map((c) =>
          node('collection', { name: c.attrs.name, version: c.attrs.version ?? '0' }),
        );
        return conn.send(iqResult(iq, [node('sync', {}, collections)]));
      }
      case 'privacy':
        if (type === 'get')
          return conn.send(
            iqResult(iq, [
              node(
                'privacy',
                {},
                [
                  ['readreceipts', 'all'],
                  ['last', 'all'],
                  ['online', 'all'],
                  ['profile', 'all'],
                  ['status', 'all'],
                  ['groupadd', 'all'],
                  ['calladd', 'all'],
                ].map(([name, value]) => node('category', { name, value })),
              ),
            ]),
          );
        return conn.send(iqResult(iq));
      case 'blocklist':
        return conn.send(iqResult(iq, [node('list', {})]));
      case 'w:m':
        if (first?.tag === 'media_conn')
          return conn.send(
            iqResult(iq, [
              node('media_conn', { auth: this.mediaHost.auth, ttl: '3600', auth_ttl: '3600' }, [
                node('host', {
                  hostname: this.mediaHost.hostname,
                  maxContentLengthBytes: String(MEDIA_MAX_BYTES),
                }),
              ]),
            ]),
          );
        return conn.send(iqResult(iq));
      case 'md':
        if (first?.tag === 'link_code_companion_reg') return this.onLinkCodeIq(conn, iq, first);
        if (first?.tag === 'remove-companion-device' && companion && conn.account) {
          companion.removed = true;
          this.store.save();
        }
        return conn.send(iqResult(iq));
      default:
        // props, w:p pings, w:stats, tctoken issuance, presence subscriptions…: an empty result is enough.
        return conn.send(iqResult(iq));
    }
  }

  private onEncryptIq(
    conn: ClientConnection,
    iq: BinaryNode,
    companion: CompanionRecord | undefined,
  ): void {
    const first = firstChild(iq);
    if (!first) return conn.send(iqResult(iq));
    if (first.tag === 'count')
      return conn.send(
        iqResult(iq, [node('count', { value: String(companion?.preKeys.length ?? 0) })]),
      );
    if (first.tag === 'digest') return conn.send(iqResult(iq, [node('digest', {})]));
    if (first.tag === 'key') {
      const users = children(first, 'user').map((u) => this.bundleNode(u.attrs.jid));
      this.store.save();
      return conn.send(iqResult(iq, [node('list', {}, users)]));
    }
    if (companion && iq.attrs.type === 'set') {
      const skey = child(iq, 'skey') ?? child(first, 'skey');
      if (skey) {
        companion.signedPreKey = {
          keyId: readUIntBE(bytes(child(skey, 'id'))),
          publicKey: b64(bytes(child(skey, 'value')) ?? Buffer.alloc(0)),
          signature: b64(bytes(child(skey, 'signature')) ?? Buffer.alloc(0)),
        };
      }
      const identity = bytes(child(iq, 'identity'));
      if (identity) companion.identityKey = b64(identity);
      const registration = bytes(child(iq, 'registration'));
      if (registration) companion.registrationId = readUIntBE(registration);
      for (const key of children(child(iq, 'list'), 'key')) {
        companion.preKeys.push({
          keyId: readUIntBE(bytes(child(key, 'id'))),
          publicKey: b64(bytes(child(key, 'value')) ?? Buffer.alloc(0)),
        });
      }
      this.store.save();
    }
    conn.send(iqResult(iq));
  }

  private bundleNode(jid: string): BinaryNode {
    const bundle = this.bundleFor(jid);
    if (!bundle)
      return node('user', { jid }, [node('error', { code: '404', text: 'item-not-found' })]);
    const content: BinaryNode[] = [
      node('registration', {}, uintBE(bundle.registrationId, 4)),
      node('type', {}, Buffer.from([5])),
      node('identity', {}, bundle.identityKey),
      node('skey', {}, [
        node('id', {}, uintBE(bundle.signedPreKey.keyId, 3)),
        node('value', {}, bundle.signedPreKey.publicKey),
        node('signature', {}, bundle.signedPreKey.signature),
      ]),
    ];
    if (bundle.preKey)
      content.push(
        node('key', {}, [
          node('id', {}, uintBE(bundle.preKey.keyId, 3)),
          node('value', {}, bundle.preKey.publicKey),
        ]),
      );
    return node('user', { jid }, content);
  }

  /** The pre-key bundle of a device JID: a simulated phone (device 0) or a linked companion. Consumes one pre-key. */
  private bundleFor(jid: string): PreKeyBundle | undefined {
    const user = this.userByJid(jid);
    if (!user) return undefined;
    const deviceId = jidDecode(jid)?.device ?? 0;
    if (deviceId === 0) return this.device(user).takeBundle();
    const companion = this.account(user.phone)?.companions[deviceId];
    return companion && !companion.removed
      ? this.companionBundle(user.phone, companion)
      : undefined;
  }

  private companionBundle(account: string, companion: CompanionRecord): PreKeyBundle {
    const preKey = companion.preKeys.shift();
    if (companion.preKeys.length < 5) {
      for (const conn of this.liveConnections(account, companion.deviceId)) {
        conn.send(
          node('notification', { from: SERVER, type: 'encrypt', id: msgId(), t: unixT() }, [
            node('count', { value: String(companion.preKeys.length) }),
          ]),
        );
      }
    }
    this.store.save();
    return {
      registrationId: companion.registrationId,
      identityKey: unb64(companion.identityKey),
      signedPreKey: {
        keyId: companion.signedPreKey.keyId,
        publicKey: unb64(companion.signedPreKey.publicKey),
        signature: unb64(companion.signedPreKey.signature),
      },
      ...(preKey ? { preKey: { keyId: preKey.keyId, publicKey: unb64(preKey.publicKey) } } : {}),
    };
  }

  private usync(_conn: ClientConnection, iq: BinaryNode): BinaryNode {
    const usync = child(iq, 'usync');
    const query = child(usync, 'query');
    const protocols = new Set(Array.isArray(query?.content) ? query.content.map((p) => p.tag) : []);
    const users = children(child(usync, 'list'), 'user').map((u) => {
      const phoneQuery = bytes(child(u, 'contact'));
      const jid =
        u.attrs.jid ?? (phoneQuery ? `${digits(phoneQuery.toString())}@s.whatsapp.net` : '');
      const user = this.userByJid(jid);
      const content: BinaryNode[] = [];
      if (protocols.has('contact')) content.push(node('contact', { type: user ? 'in' : 'out' }));
      if (user && protocols.has('devices')) {
        const companions = this.activeCompanions(user.phone).map((c) =>
          node('device', { id: String(c.deviceId), 'key-index': String(c.keyIndex) }),
        );
        content.push(
          node('devices', {}, [
            node('device-list', {}, [node('device', { id: '0' }), ...companions]),
          ]),
        );
      }
      if (user && protocols.has('lid') && !jid.endsWith('@lid'))
        content.push(node('lid', { val: `${user.lid}@lid` }));
      return node('user', { jid }, content);
    });
    return node('usync', { sid: usync?.attrs.sid ?? '', index: '0', last: 'true' }, [
      node('result', {}),
      node('list', {}, users),
    ]);
  }

  /** After `passive active`: deliver what queued up while offline, end the offline phase, then the initial history sync. */
  private afterActive(conn: ClientConnection, companion: CompanionRecord): void {
    const key = `${conn.account}.${conn.deviceId}`;
    const queued = this.offlineQueue.get(key) ?? [];
    this.offlineQueue.delete(key);
    for (const stanza of queued) conn.send({ ...stanza, attrs: { ...stanza.attrs, offline: '1' } });
    conn.send(node('ib', { from: SERVER }, [node('offline', { count: String(queued.length) })]));
    if (!companion.historySynced) {
      setTimeout(
        () =>
          void this.sendHistorySync(conn, companion).catch((err) =>
            this.log('history sync failed', { err: String(err) }),
          ),
        30,
      );
    }
  }

  private async sendHistorySync(conn: ClientConnection, companion: CompanionRecord): Promise<void> {
    if (conn.closed || !conn.account) return;
    const user = this.user(conn.account);
    const message = historySyncMessage({
      syncType: proto.HistorySync.HistorySyncType.INITIAL_BOOTSTRAP,
      conversations: [],
    });
    const stanza = await this.encryptStanza(user, conn.account, companion, message, {
      from: `${user.phone}@s.whatsapp.net`,
      type: 'text',
      category: 'peer',
    });
    if (conn.closed) return;
    conn.send(stanza);
    companion.historySynced = true;
    this.store.save();
  }

  // ---------------------------------------------------------------- messages

  private companionAddress(account: string, deviceId: number): string {
    return `${account}.${deviceId}`;
  }

  /** Encrypts `message` from `sender`'s phone to one companion of `account`, starting a Signal session if needed. */
  private async encryptStanza(
    sender: UserRecord,
    account: string,
    companion: CompanionRecord,
    message: proto.IMessage,
    attrs: Record<string, string>,
  ): Promise<BinaryNode> {
    const device = this.device(sender);
    const peer = this.companionAddress(account, companion.deviceId);
    if (!device.hasSession(peer))
      await device.startSession(peer, this.companionBundle(account, companion));
    const { type, ciphertext } = await device.encrypt(peer, encodeWAMessage(message));
    this.store.save();
    const encAttrs: Record<string, string> = { v: '2', type };
    const mediaType = mediaTypeOf(message);
    if (mediaType) encAttrs.mediatype = mediaType;
    return node('message', { id: msgId(), t: unixT(), ...attrs }, [
      node('enc', encAttrs, ciphertext),
    ]);
  }

  /**
   * The account's own phone sends `message` (a protocol message: history sync, …) to its linked
   * devices, or to `deviceId` only; queued for offline ones.
   */
  async deliverFromOwnPhone(
    account: string,
    message: proto.IMessage,
    deviceId?: number,
  ): Promise<string> {
    const user = this.user(account);
    const companions = this.activeCompanions(account).filter(
      (c) => deviceId === undefined || c.deviceId === deviceId,
    );
    if (!companions.length)
      throw new Error(
        `account ${account} has no linked device${deviceId === undefined ? '' : ` ${deviceId}`}`,
      );
    const id = msgId();
    for (const companion of companions) {
      const stanza = await this.encryptStanza(user, account, companion, message, {
        from: `${user.phone}@s.whatsapp.net`,
        id,
        type: 'text',
        category: 'peer',
      });
      this.sendOrQueue(account, companion, stanza);
    }
    return id;
  }

  private sendOrQueue(account: string, companion: CompanionRecord, stanza: BinaryNode): void {
    const live = this.liveConnections(account, companion.deviceId).filter((c) => c.account);
    if (live.length) for (const conn of live) conn.send(stanza);
    else {
      const key = this.companionAddress(account, companion.deviceId);
      this.offlineQueue.set(key, [...(this.offlineQueue.get(key) ?? []), stanza]);
    }
  }

  /** A contact sends `message` to every linked device of `account` (queued for offline ones), or to `opts.deviceId` only. */
  async deliverInbound(
    account: string,
    contactPhone: string,
    message: proto.IMessage,
    opts: InboundOptions = {},
  ): Promise<string> {
    const contact = this.user(contactPhone, opts.pushName ? { pushName: opts.pushName } : {});
    const companions = this.activeCompanions(account).filter(
      (c) => opts.deviceId === undefined || c.deviceId === opts.deviceId,
    );
    if (!companions.length)
      throw new Error(
        `account ${account} has no linked device${opts.deviceId === undefined ? '' : ` ${opts.deviceId}`}`,
      );
    const id = opts.id ?? msgId();
    const via = opts.via ?? 'pn';
    const addressing: Record<string, string> =
      via === 'lid'
        ? {
            from: `${contact.lid}@lid`,
            sender_pn: `${contact.phone}@s.whatsapp.net`,
            addressing_mode: 'lid',
          }
        : { from: `${contact.phone}@s.whatsapp.net` };
    const type = mediaTypeOf(message) ? 'media' : 'text';
    for (const companion of companions) {
      const stanza = await this.encryptStanza(contact, account, companion, message, {
        ...addressing,
        id,
        type,
        notify: contact.pushName,
      });
      this.sendOrQueue(account, companion, stanza);
    }
    return id;
  }

  /** Stores `data` encrypted for WhatsApp media download and returns the fields of a media message. */
  uploadMedia(data: Buffer, type: 'image' | 'video' | 'audio' | 'document' | 'sticker') {
    const enc = encryptMedia(data, type);
    const id = randomBytes(16).toString('hex');
    this.media.set(id, enc.encrypted);
    const dir = this.store.mediaDir();
    if (dir) writeFileSync(join(dir, id), enc.encrypted);
    return {
      url: `${this.httpUrl}/media/${id}`,
      mediaKey: enc.mediaKey,
      fileSha256: enc.fileSha256,
      fileEncSha256: enc.fileEncSha256,
      fileLength: enc.fileLength,
      mediaKeyTimestamp: Math.floor(Date.now() / 1000),
    };
  }

  private serveHttp(req: IncomingMessage, res: ServerResponse): void {
    if (handleControlRequest(this, req, res)) return;
    const match = /^\/media\/([0-9a-f]{32})$/.exec(req.url?.split('?')[0] ?? '');
    let body = match ? this.media.get(match[1]) : undefined;
    const dir = this.store.mediaDir();
    if (match && !body && dir && existsSync(join(dir, match[1])))
      body = readFileSync(join(dir, match[1]));
    if (req.method !== 'GET' || !body) {
      res.writeHead(404).end();
      return;
    }
    res
      .writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length })
      .end(body);
  }

  private async onClientMessage(conn: ClientConnection, stanza: BinaryNode): Promise<void> {
    if (!conn.account || conn.deviceId === undefined) return;
    const to = stanza.attrs.to;
    const targets: { jid: string; enc: BinaryNode }[] = [];
    for (const t of children(child(stanza, 'participants'), 'to')) {
      const enc = child(t, 'enc');
      if (enc) targets.push({ jid: t.attrs.jid, enc });
    }
    const direct = child(stanza, 'enc');
    if (direct) targets.push({ jid: to, enc: direct });
    const sender = this.companionAddress(conn.account, conn.deviceId);
    for (const { jid, enc } of targets) {
      const user = this.userByJid(jid, false);
      const device = jidDecode(jid)?.device ?? 0;
      const payload = bytes(enc);
      if (!user || device !== 0 || !payload) continue;
      try {
        const plaintext = await this.device(user).decrypt(sender, enc.attrs.type, payload);
        this.store.save();
        const message = proto.Message.decode(unpadRandomMax16(plaintext));
        if (user.phone === conn.account) continue; // our own phone's copy (deviceSentMessage)
        const record: OutboundRecord = {
          id: stanza.attrs.id,
          account: conn.account,
          deviceId: conn.deviceId,
          to,
          recipient: user.phone,
          message,
          text: message.conversation ?? message.extendedTextMessage?.text ?? undefined,
          media: this.outboundMedia(message),
          at: new Date(),
        };
        this.outbound.push(record);
        for (const w of [...this.outboundWaiters]) w();
        this.scheduleAutoReceipts(record);
      } catch (err) {
        this.log('could not decrypt an outbound message', { jid, err: String(err) });
      }
    }
    conn.send(node('ack', { class: 'message', id: stanza.attrs.id, from: to, t: unixT() }));
  }

  /** The recipient's download of an outbound attachment: find the upload, check fileEncSha256, decrypt (MAC), check fileSha256. */
  private outboundMedia(message: proto.IMessage): OutboundMedia | undefined {
    const found = mediaContentOf(message);
    if (!found) return undefined;
    const { type, content } = found;
    const media: OutboundMedia = {
      type,
      ...(content.mimetype ? { mimetype: content.mimetype } : {}),
      ...('fileName' in content && content.fileName ? { fileName: content.fileName } : {}),
      ...('caption' in content && content.caption ? { caption: content.caption } : {}),
      ...('ptt' in content && content.ptt ? { ptt: true } : {}),
    };
    const encrypted = this.mediaHost.find(content.directPath) ?? this.mediaHost.find(content.url);
    const sha = (b: Buffer) => createHash('sha256').update(b).digest();
    try {
      if (!encrypted) throw new Error(`no upload at ${content.directPath ?? content.url ?? '?'}`);
      if (!content.mediaKey || !content.fileEncSha256 || !content.fileSha256)
        throw new Error('mediaKey, fileEncSha256 or fileSha256 missing');
      if (!sha(encrypted).equals(Buffer.from(content.fileEncSha256)))
        throw new Error('fileEncSha256 does not match the upload');
      const data = decryptMedia(encrypted, type, Buffer.from(content.mediaKey));
      if (!sha(data).equals(Buffer.from(content.fileSha256)))
        throw new Error('fileSha256 does not match the decrypted file');
      if (content.fileLength !== undefined && content.fileLength !== null)
        if (Number(content.fileLength) !== data.length)
          throw new Error('fileLength does not match the decrypted file');
      media.data = data;
    } catch (err) {
      media.error = (err as Error).message;
      this.log('could not fetch an outbound attachment', { type, err: media.error });
    }
    return media;
  }

  private scheduleAutoReceipts(record: OutboundRecord): void {
    const auto = this.options.autoReceipts;
    if (!auto) return;
    if (auto.deliveredMs !== undefined)
      setTimeout(
        () => this.sendReceipt(record.account, record.id, 'delivered'),
        auto.deliveredMs,
      ).unref();
    if (auto.readMs !== undefined)
      setTimeout(() => this.sendReceipt(record.account, record.id, 'read'), auto.readMs).unref();
  }

  private onClientReceipt(conn: ClientConnection, receipt: BinaryNode): void {
    const { id, to, type } = receipt.attrs;
    if (conn.account)
      this.clientReceipts.push({
        account: conn.account,
        id,
        to: to ?? '',
        type: type ?? 'delivered',
      });
    conn.send(node('ack', { class: 'receipt', id, from: to ?? SERVER, ...(type ? { type } : {}) }));
  }

  /** The recipient of an outbound message sends a delivery/read/played receipt to every live device of `account` (or `deviceId` only). */
  sendReceipt(account: string, messageId: string, type: ReceiptType, deviceId?: number): void {
    const record = this.outbound.find((r) => r.account === account && r.id === messageId);
    if (!record) throw new Error(`no outbound message ${messageId} from ${account}`);
    const attrs: Record<string, string> = { from: record.to, id: messageId, t: unixT() };
    if (type !== 'delivered') attrs.type = type;
    for (const conn of this.liveConnections(account, deviceId)) conn.send(node('receipt', attrs));
  }

  async waitForOutbound(
    predicate: (r: OutboundRecord) => boolean,
    timeoutMs = 10_000,
  ): Promise<OutboundRecord> {
    await this.waitUntil(
      this.outboundWaiters,
      () => this.outbound.some(predicate),
      timeoutMs,
      'an outbound message',
    );
    return this.outbound.find(predicate)!;
  }

  private waitUntil(
    waiters: Set<() => void>,
    done: () => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!done()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`Timed out waiting for ${what}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
    });
  }

  // ---------------------------------------------------------------- server-side events

  /** The phone unlinks every companion (or `deviceId` only): live ones get stream:error 401 (device_removed); later logins get failure 401. */
  logout(account: string, deviceId?: number): void {
    for (const c of this.activeCompanions(account))
      if (deviceId === undefined || c.deviceId === deviceId) c.removed = true;
    this.store.save();
    for (const conn of this.liveConnections(account, deviceId)) {
      conn.send(
        node('stream:error', { code: '401' }, [node('conflict', { type: 'device_removed' })]),
      );
      conn.close();
    }
  }

  /** Another client took over the session (stream:error conflict replaced → 440). */
  replace(account: string, deviceId?: number): void {
    for (const conn of this.liveConnections(account, deviceId)) {
      conn.send(node('stream:error', {}, [node('conflict', { type: 'replaced' })]));
      conn.close();
    }
  }

  /** Sends a bare `<stream:error code=…/>` (e.g. 503, 515) and closes. */
  streamError(account: string, code: number, deviceId?: number): void {
    for (const conn of this.liveConnections(account, deviceId)) {
      conn.send(node('stream:error', { code: String(code) }));
      conn.close();
    }
  }

  /**
   * The server tells live linked devices of `account` (or `deviceId` only) which phone number a LID
   * belongs to: a `mex` NotificationLinkedProfilesUpdates notification (Baileys: lid-mapping.update).
   * (History-sync `phoneNumberToLidMappings` would be the phone's way, but rc14 loses them in its event buffer.)
   */
  revealLid(account: string, mapping: { lid: string; pn: string }, deviceId?: number): number {
    const payload = JSON.stringify({
      operation: 'NotificationLinkedProfilesUpdates',
      updates: [{ jid: mapping.lid, added_profiles: [mapping.pn] }],
    });
    const conns = this.liveConnections(account, deviceId).filter((c) => c.account);
    for (const conn of conns) {
      conn.send(
        node('notification', { from: SERVER, type: 'mex', id: msgId(), t: unixT() }, [
          node('mex', { op_name: 'NotificationLinkedProfilesUpdates' }, Buffer.from(payload)),
        ]),
      );
    }
    return conns.length;
  }

  /** Drops the TCP connections without any close frame. */
  drop(account: string, deviceId?: number): void {
    for (const conn of this.liveConnections(account, deviceId)) conn.terminate();
  }
}

export function digits(phone: string): string {
  return phone.replace(/\D/g, '');
}

type MediaContent =
  | proto.Message.IImageMessage
  | proto.Message.IVideoMessage
  | proto.Message.IAudioMessage
  | proto.Message.IDocumentMessage
  | proto.Message.IStickerMessage;

/** The media sub-message (and its HKDF type), also inside document-with-caption / view-once / ephemeral wrappers. */
function mediaContentOf(
  message: proto.IMessage,
): { type: EmulatorMediaType; content: MediaContent } | undefined {
  const inner =
    message.documentWithCaptionMessage?.message ??
    message.viewOnceMessage?.message ??
    message.viewOnceMessageV2?.message ??
    message.ephemeralMessage?.message;
  if (inner) return mediaContentOf(inner);
  if (message.imageMessage) return { type: 'image', content: message.imageMessage };
  if (message.videoMessage) return { type: 'video', content: message.videoMessage };
  if (message.ptvMessage) return { type: 'video', content: message.ptvMessage };
  if (message.audioMessage) return { type: 'audio', content: message.audioMessage };
  if (message.documentMessage) return { type: 'document', content: message.documentMessage };
  if (message.stickerMessage) return { type: 'sticker', content: message.stickerMessage };
  return undefined;
}

function mediaTypeOf(message: proto.IMessage): string | undefined {
  if (message.imageMessage) return 'image';
  if (message.videoMessage) return 'video';
  if (message.audioMessage) return message.audioMessage.ptt ? 'ptt' : 'audio';
  if (message.documentMessage) return 'document';
  if (message.stickerMessage) return 'sticker';
  return undefined;
}
