import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Curve, type BinaryNode, type proto } from '@whiskeysockets/baileys';
import { WebSocketServer } from 'ws';
import { AppState, CONTACTS_COLLECTION, type AddressBookEntry } from './app-state';
import { ClientConnection, type ConnectionHandler } from './client-connection';
import { CodePairing } from './code-pairing';
import { ConnectionRegistry } from './connection-registry';
import { handleControlRequest } from './control-http';
import { MessageDelivery } from './delivery';
import { Envelopes } from './envelopes';
import type { RetryRecord } from './retry-receipts';
import { Directory } from './directory';
import type { EmulatorContext } from './emulator-context';
import { Groups } from './groups';
import { b64, digits, unb64 } from './ids';
import { IqRouter } from './iq-router';
import { KeyBundles } from './key-bundles';
import { Login } from './login';
import { MediaHost } from './media-host';
import { InboundMediaStore, type UploadedMediaType } from './media-store';
import { node } from './nodes';
import { createNoiseIdentity, type KeyPair, type NoiseIdentity } from './noise';
import { OutboundMessages } from './outbound';
import { PhoneControl } from './phone-control';
import { QrPairing } from './qr-pairing';
import { Receipts } from './receipts';
import { ServerEvents } from './server-events';
import {
  StateStore,
  type AccountRecord,
  type AnyUser,
  type CompanionRecord,
  type GroupRecord,
  type UserRecord,
} from './state';
import type {
  ClientReceiptRecord,
  InboundOptions,
  OutboundRecord,
  PairingProfile,
  PairResult,
  ReceiptOptions,
  ReceiptType,
  WaEmulatorOptions,
} from './types';
import { Waiters } from './waiters';

export { digits } from './ids';
export type {
  ClientReceiptRecord,
  InboundOptions,
  OutboundMedia,
  OutboundRecord,
  PairResult,
  ReceiptType,
  WaEmulatorOptions,
} from './types';

/**
 * A local WhatsApp Web server for the real Baileys client: Noise XX over a loopback
 * WebSocket, binary nodes, QR pairing, login, Signal-encrypted messages with simulated
 * phones and contacts, receipts, media, logout/replace/drop. See README.md.
 *
 * This class wires the parts together (see each module) and is the public face of them.
 */
export class WaEmulator implements ConnectionHandler {
  private readonly ctx: EmulatorContext;
  private readonly qrPairing: QrPairing;
  private readonly codePairing: CodePairing;
  private readonly keyBundles: KeyBundles;
  private readonly groups: Groups;
  private readonly appState: AppState;
  private readonly delivery: MessageDelivery;
  private readonly login: Login;
  private readonly iq: IqRouter;
  private readonly outboundMessages: OutboundMessages;
  private readonly receipts: Receipts;
  private readonly serverEvents: ServerEvents;
  private readonly media: InboundMediaStore;
  private port = 0;

  private constructor(
    store: StateStore,
    private readonly noise: NoiseIdentity,
    private readonly http: Server,
    private readonly wss: WebSocketServer,
    private readonly mediaHost: MediaHost,
    private readonly options: WaEmulatorOptions,
  ) {
    this.ctx = {
      store,
      options,
      connections: new ConnectionRegistry(),
      directory: new Directory(store),
      pairingWaiters: new Waiters(),
      log: (message, details) => options.log?.(message, details),
    };
    this.qrPairing = new QrPairing(this.ctx);
    this.codePairing = new CodePairing(this.ctx, this.qrPairing);
    this.keyBundles = new KeyBundles(this.ctx);
    this.groups = new Groups(this.ctx);
    const envelopes = new Envelopes(this.ctx, this.keyBundles, this.groups);
    this.delivery = new MessageDelivery(this.ctx, envelopes, this.groups);
    this.appState = new AppState(this.ctx);
    this.login = new Login(this.ctx, this.delivery, envelopes, this.appState);
    this.iq = new IqRouter(this.ctx, {
      qrPairing: this.qrPairing,
      codePairing: this.codePairing,
      keyBundles: this.keyBundles,
      login: this.login,
      mediaHost,
      groups: this.groups,
      appState: this.appState,
    });
    this.outboundMessages = new OutboundMessages(this.ctx, mediaHost, this.groups);
    this.receipts = new Receipts(this.ctx, this.outboundMessages, this.groups);
    this.outboundMessages.onRecorded = (record) => this.receipts.scheduleAuto(record);
    this.receipts.onRetry = (account, deviceId, receipt) =>
      this.delivery.retryReceipts.onRetryReceipt(account, deviceId, receipt);
    this.serverEvents = new ServerEvents(this.ctx);
    this.media = new InboundMediaStore(store, () => this.httpUrl);
  }

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
      store.flush();
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
    // ws passes the server's errors on (a port taken at listen): the listen below handles those.
    wss.on('error', (err) => log('websocket server error', { err: String(err) }));
    wss.on('connection', (ws) => {
      const conn = new ClientConnection(ws, noise, emulator, (err) =>
        emulator.log('connection error', { err: String(err) }),
      );
      emulator.ctx.connections.add(conn);
    });
    const listen = (port: number) =>
      new Promise<void>((resolve, reject) => {
        http.once('error', reject);
        http.listen(port, options.host ?? '127.0.0.1', () => resolve());
      });
    // The port of the previous run when none is asked: the media URLs handed out then (on
    // WhatsApp, CDN addresses that do not change) stay valid for a download after a restart.
    const previous = options.port === undefined ? store.state.httpPort : undefined;
    await listen(options.port ?? previous ?? 0)
      .catch((err: NodeJS.ErrnoException) => {
        if (previous === undefined || err.code !== 'EADDRINUSE') throw err;
        return listen(0);
      })
      .catch(async (err: unknown) => {
        await mediaHost.close();
        throw err;
      });
    emulator.port = (http.address() as AddressInfo).port;
    if (store.state.httpPort !== emulator.port) {
      store.state.httpPort = emulator.port;
      store.save();
    }
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
    this.ctx.connections.terminateAll();
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeAllConnections();
    await this.mediaHost.close();
    this.delivery.retryReceipts.persist();
    this.ctx.store.close();
  }

  log(message: string, details?: Record<string, unknown>): void {
    this.ctx.log(message, details);
  }

  private serveHttp(req: IncomingMessage, res: ServerResponse): void {
    if (handleControlRequest(this, req, res)) return;
    if (this.media.serve(req, res)) return;
    res.writeHead(404).end();
  }

  // ---------------------------------------------------------------- users & accounts

  /** Finds or creates the simulated WhatsApp user with this phone number. */
  user(phone: string, profile: PairingProfile = {}): UserRecord {
    return this.ctx.directory.user(phone, profile);
  }

  /** The simulated user with this LID (digits, optional `@lid`), if any. */
  userByLid(lid: string): UserRecord | undefined {
    return this.ctx.directory.userByLid(lid);
  }

  /** Whoever has this LID: a user with a phone number, or a contact known only by LID. */
  anyUserByLid(lid: string): AnyUser | undefined {
    return this.ctx.directory.anyUserByLid(lid);
  }

  /** `lid` belongs to `phone` from now on (a contact known only by that LID becomes this phone's user). */
  linkLid(phone: string, lid: string): UserRecord {
    return this.ctx.directory.linkLid(phone, lid);
  }

  account(phone: string): AccountRecord | undefined {
    return this.ctx.directory.account(phone);
  }

  /** A group chat the emulator knows (created by a group message or `ensureGroup`). */
  group(jid: string): GroupRecord | undefined {
    return this.groups.get(jid);
  }

  /** Creates (or updates) group `jid` with `account` and `members` (PN or LID JIDs) in it. */
  ensureGroup(jid: string, account: string, members: string[] = [], subject?: string): GroupRecord {
    return this.groups.ensure(jid, digits(account), members, subject);
  }

  isConnected(account: string): boolean {
    return this.ctx.connections.isConnected(account);
  }

  activeCompanions(account: string): CompanionRecord[] {
    return this.ctx.directory.activeCompanions(account);
  }

  // ---------------------------------------------------------------- client connections

  onHandshake(conn: ClientConnection, payload: proto.ClientPayload): void {
    if (
      payload.username !== null &&
      payload.username !== undefined &&
      Number(payload.username) > 0
    ) {
      this.login.login(conn, String(payload.username), payload.device ?? 0);
      return;
    }
    if (!payload.devicePairingData) {
      conn.send(node('failure', { reason: '400' }));
      conn.close();
      return;
    }
    this.qrPairing.offerRefs(conn, payload.devicePairingData);
  }

  onClose(conn: ClientConnection): void {
    this.ctx.connections.delete(conn);
    const unacknowledged = conn.takeUnacknowledged();
    if (conn.account && conn.deviceId !== undefined)
      this.delivery.deliverAgain(conn.account, conn.deviceId, unacknowledged);
    this.codePairing.onClose(conn);
    this.qrPairing.onClose(conn);
  }

  async onNode(conn: ClientConnection, n: BinaryNode): Promise<void> {
    switch (n.tag) {
      case 'iq':
        return this.iq.onIq(conn, n);
      case 'message':
        return this.outboundMessages.onClientMessage(conn, n);
      case 'receipt':
        return this.receipts.onClientReceipt(conn, n);
      default:
        return; // ack, presence, ib (unified_session), chatstate…
    }
  }

  // ---------------------------------------------------------------- pairing

  /** Waits until some client is showing a QR (has pending pairing refs). */
  waitForPairingClient(timeoutMs = 10_000): Promise<void> {
    return this.qrPairing.waitForPairingClient(timeoutMs);
  }

  /** The phone of `account` scans `qr` (the string Baileys emits as connection.update.qr). */
  scan(account: string, qr: string, profile: PairingProfile = {}): Promise<PairResult> {
    return this.qrPairing.scan(account, qr, profile);
  }

  /** Waits until a client of `account` has asked for a pairing code (companion_hello). */
  waitForPairingCodeClient(account: string, timeoutMs = 10_000): Promise<void> {
    return this.codePairing.waitForPairingCodeClient(account, timeoutMs);
  }

  /** The phone of `account` types the pairing code a client shows; resolves once linked, rejects on a wrong code. */
  enterPairingCode(
    account: string,
    code: string,
    profile: PairingProfile = {},
  ): Promise<PairResult> {
    return this.codePairing.enterPairingCode(account, code, profile);
  }

  // ---------------------------------------------------------------- messages

  /**
   * The account's own phone sends `message` (a protocol message: history sync, …) to its linked
   * devices, or to `deviceId` only; queued for offline ones.
   */
  deliverFromOwnPhone(
    account: string,
    message: proto.IMessage,
    deviceId?: number,
  ): Promise<string> {
    return this.delivery.deliverFromOwnPhone(account, message, deviceId);
  }

  /**
   * A contact (phone number, or `…@lid` JID: unknown LIDs become contacts known only by LID) sends
   * `message` to every linked device of `account` (queued for offline ones), or to `opts.deviceId` only.
   */
  deliverInbound(
    account: string,
    contact: string,
    message: proto.IMessage,
    opts: InboundOptions = {},
  ): Promise<string> {
    return this.delivery.deliverInbound(account, contact, message, opts);
  }

  /** The user typed `message` in chat `chatJid` on the phone: its linked devices get it as `fromMe`. */
  deliverFromMe(
    account: string,
    chatJid: string,
    message: proto.IMessage,
    opts: Omit<InboundOptions, 'via' | 'pushName'> = {},
  ): Promise<string> {
    return this.delivery.deliverFromMe(account, chatJid, message, opts);
  }

  /** `from` (a phone, a `…@lid` JID, or the account itself) writes `message` in group `groupJid`. */
  deliverToGroup(
    account: string,
    groupJid: string,
    from: string,
    message: proto.IMessage,
    opts: InboundOptions = {},
  ): Promise<string> {
    return this.delivery.deliverToGroup(account, groupJid, from, message, opts);
  }

  /**
   * The phone writes address-book entries to its app state (contactAction patches). Companions read
   * them at their next app-state sync, or at once when `serverSync` tells the live ones to sync.
   */
  async setAddressBook(
    account: string,
    entries: AddressBookEntry[],
    opts: { serverSync?: boolean; deviceId?: number } = {},
  ): Promise<number> {
    const version = await this.appState.setContacts(account, entries);
    if (opts.serverSync) this.appState.notifyChanged(account, CONTACTS_COLLECTION, opts.deviceId);
    return version;
  }

  /** Retry receipts linked devices sent, and whether the emulator resent the message. */
  get retries(): RetryRecord[] {
    return this.delivery.retryReceipts.records;
  }

  /** Stores `data` encrypted for WhatsApp media download and returns the fields of a media message. */
  uploadMedia(data: Buffer, type: UploadedMediaType) {
    return this.media.upload(data, type);
  }

  /** Messages linked devices sent, as their recipients decrypted them. */
  get outbound(): OutboundRecord[] {
    return this.outboundMessages.records;
  }

  /** Receipts linked devices sent for inbound messages. */
  get clientReceipts(): ClientReceiptRecord[] {
    return this.receipts.fromClients;
  }

  /** The recipient of an outbound message sends a delivery/read/played receipt to every live device of `account` (or `deviceId` only). */
  sendReceipt(
    account: string,
    messageId: string,
    type: ReceiptType,
    options: ReceiptOptions = {},
  ): void {
    this.receipts.send(account, messageId, type, options);
  }

  /** A read-self receipt to the account's linked devices (or `deviceId`), queued for offline ones. */
  sendReadSelf(account: string, chatJid: string, ids: string[], deviceId?: number): void {
    const receipt = this.receipts.readSelfReceipt(account, chatJid, ids);
    for (const companion of this.ctx.directory.targetCompanions(account, deviceId))
      this.delivery.sendOrQueue(account, companion, receipt);
  }

  waitForOutbound(
    predicate: (r: OutboundRecord) => boolean,
    timeoutMs = 10_000,
  ): Promise<OutboundRecord> {
    return this.outboundMessages.waitFor(predicate, timeoutMs);
  }

  // ---------------------------------------------------------------- server-side events

  /** The phone unlinks every companion (or `deviceId` only): live ones get stream:error 401 (device_removed); later logins get failure 401. */
  logout(account: string, deviceId?: number): void {
    this.serverEvents.logout(account, deviceId);
  }

  /** Another client took over the session (stream:error conflict replaced → 440). */
  replace(account: string, deviceId?: number): void {
    this.serverEvents.replace(account, deviceId);
  }

  /** Sends a bare `<stream:error code=…/>` (e.g. 503, 515) and closes. */
  streamError(account: string, code: number, deviceId?: number): void {
    this.serverEvents.streamError(account, code, deviceId);
  }

  /** Tells live linked devices which phone number a LID belongs to (Baileys: lid-mapping.update); returns how many were told. */
  revealLid(account: string, mapping: { lid: string; pn: string }, deviceId?: number): number {
    return this.serverEvents.revealLid(account, mapping, deviceId);
  }

  /** Tells live linked devices that the account's groups changed (a `groups` dirty bit). */
  groupsChanged(account: string): number {
    return this.serverEvents.groupsChanged(digits(account));
  }

  /** Drops the TCP connections without any close frame. */
  drop(account: string, deviceId?: number): void {
    this.serverEvents.drop(account, deviceId);
  }
}
