import type { Readable } from 'node:stream';
import type { Agent as HttpsAgent } from 'node:https';
import {
  ALL_WA_PATCH_NAMES,
  Browsers,
  downloadMediaMessage,
  jidNormalizedUser,
  makeWASocket,
  S_WHATSAPP_NET,
  type BaileysEventMap,
  type BinaryNode,
  type SignalKeyStore,
  type WASocket,
} from '@whiskeysockets/baileys';
import type { RevocableKeyStore, WaAuthStore } from '../auth-state/wa-auth-store';
import { groupBy, within } from '@app/common';
import { withSharedAsyncStorage } from './shared-async-storage';
import { CLOSE_CODES, type WaCloseInfo } from '../engine/close-reason';
import type { MediaRef } from '../engine/inbound-message';
import type { OutboundContent, SendResult } from '../engine/outbound-content';
import { TypedEmitter } from '../engine/typed-emitter';
import type {
  ContactInfo,
  WaConnection,
  WaConnectionEvents,
  WaReadKey,
  WaStatusUpdate,
} from '../engine/wa-connection';
import type { WaLogger } from '../engine/wa-logger';
import { loadBaileysAuthState } from './baileys-auth-state';
import { baileysLogger } from './baileys-logger';
import { EventBufferWatchdog } from './event-buffer-watchdog';
import { mapBaileysClose } from './baileys-close-reason';
import {
  readElsewhereFromMessageUpdate,
  readElsewhereFromReceipt,
  readElsewhereFromUpsert,
  type ReadElsewhereItem,
  statusesFromReceiptNode,
  statusFromMessageUpdate,
  statusFromOwnUpsert,
  statusFromReceipt,
  type OwnJids,
} from './baileys-receipts';
import { capped } from '../engine/media-cap';
import { fromMediaRef } from './media-ref';
import { normalizeContact, normalizeGroup } from './normalize-contact';
import { normalizeMessage } from './normalize-message';
import { toBaileysContent } from './to-baileys-content';

export interface BaileysSocketOptions {
  browserName: string;
  waWebSocketUrl?: string;
  connectTimeoutMs: number;
  /**
   * Emulator only: the HTTPS agent for media uploads (Baileys' `fetchAgent`), trusting the
   * emulator's self-signed media host. Unset for WhatsApp, where Baileys' defaults apply.
   */
  mediaUploadAgent?: HttpsAgent;
}

const LEVEL_ORDER = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
/** The less verbose of two pino levels. */
export const quieterLevel = (a: string, b: string): string =>
  LEVEL_ORDER.indexOf(a) > LEVEL_ORDER.indexOf(b) ? a : b;

/** The account's identities from its creds: known before `open`, when the offline queue arrives. */
const ownJids = (sock: WASocket): OwnJids | undefined => {
  const me = sock.authState.creds.me;
  if (!me?.id) return undefined;
  return { jid: jidNormalizedUser(me.id), ...(me.lid ? { lid: jidNormalizedUser(me.lid) } : {}) };
};

const compact = <T>(items: (T | undefined)[]): T[] => items.filter((x): x is T => x !== undefined);

/** Baileys events that carry what WhatsApp handed over (see `handingOver`). */
const TRAFFIC_EVENTS = new Set<string>([
  'messages.upsert',
  'messages.update',
  'message-receipt.update',
  'contacts.upsert',
  'contacts.update',
  'lid-mapping.update',
  'groups.upsert',
  'groups.update',
  'messaging-history.set',
]);
/** The longest a close waits for the message Baileys is handling (a key read in an outage). */
const HAND_OVER_MS = 5_000;

/** One Baileys socket behind the WaConnection contract. */
export class BaileysConnection extends TypedEmitter<WaConnectionEvents> implements WaConnection {
  private sock?: WASocket;
  private ended = false;
  /**
   * During a close of ours, after `ended`: messages Baileys was handling whose receipt went out
   * (WhatsApp will not send them again) still come out, with statuses and contacts.
   */
  private handingOver = false;
  /** Taken back when the connection ends: see keysWhileOpen. */
  private keys?: RevocableKeyStore;
  private bufferWatchdog?: EventBufferWatchdog;
  private me?: { jid: string; lid?: string };

  constructor(
    private readonly sessionId: string,
    private readonly auth: WaAuthStore,
    private readonly logger: WaLogger,
    private readonly options: BaileysSocketOptions,
  ) {
    super();
    setImmediate(() => void this.init());
  }

  private async init(): Promise<void> {
    if (this.ended) return;
    this.emit('connecting');
    let sock: WASocket;
    try {
      const keys = (this.keys = this.auth.revocableKeys());
      const state = await loadBaileysAuthState(this.auth, keys);
      // At most `warn` for Baileys, but never louder than our own logger (a silent root stays silent).
      const logger = baileysLogger(
        this.logger.child(
          { module: 'baileys' },
          { level: quieterLevel(this.logger.level, 'warn') },
        ),
      );
      // Baileys' per-socket AsyncLocalStorage would tax every await in the process (see the shim).
      sock = withSharedAsyncStorage(() =>
        makeWASocket({
          // No makeCacheableSignalKeyStore: it would keep every key (800+ pre-keys after pairing) in the
          // heap for minutes. Our store already caches a few hot keys and batches writes to MongoDB.
          auth: { creds: state.creds, keys: this.keysWhileOpen(state.keys, keys) },
          logger: logger as never,
          browser: Browsers.appropriate(this.options.browserName),
          ...(this.options.waWebSocketUrl ? { waWebSocketUrl: this.options.waWebSocketUrl } : {}),
          ...(this.options.mediaUploadAgent ? { fetchAgent: this.options.mediaUploadAgent } : {}),
          connectTimeoutMs: this.options.connectTimeoutMs,
          markOnlineOnConnect: false,
          syncFullHistory: false,
          getMessage: async () => undefined,
        }),
      );
      this.bind(sock, () => this.auth.writeCreds(state.creds));
    } catch (err) {
      this.finish({
        code: CLOSE_CODES.badSession,
        reason: 'badSession',
        message: `Could not start the WhatsApp socket: ${(err as Error).message}`,
      });
      return;
    }
    this.sock = sock;
    if (this.ended) void sock.end(undefined).catch(() => undefined);
  }

  /**
   * The signal keys, refused to this socket once its connection has ended. Baileys goes on handling
   * what it received before the close (a key read may have waited out a database outage): decrypting
   * it then would move the Signal session past a message whose receipt can no longer go out, and
   * which Baileys then never hands over. WhatsApp delivers it again at the next login, and Baileys
   * drops that copy as one it already decrypted (nack 487): lost. Refused, the message stays
   * undecrypted, and the next connection decrypts the copy WhatsApp sends again.
   *
   * A decryption's key write that began while the connection was open may land only after it closed
   * (the write waited out a database outage; the keys came from the cache). Baileys sends the
   * receipt right after the write: it is kept only if the socket is still open then, and the writes
   * not kept are taken back when the connection ends, so the next connection decrypts the copy.
   */
  private keysWhileOpen(keys: SignalKeyStore, revocable: RevocableKeyStore): SignalKeyStore {
    const open = () => {
      if (this.ended)
        throw new Error(`WhatsApp connection of ${this.sessionId} closed: its keys are not used`);
    };
    return {
      get: async (type, ids) => {
        open();
        const values = await keys.get(type, ids);
        open();
        return values;
      },
      set: async (data) => {
        open();
        await keys.set(data);
        if (!this.ended && this.sock?.ws.isOpen !== false) revocable.keep();
      },
    };
  }

  private bind(sock: WASocket, saveCreds: () => Promise<void>): void {
    const on = <K extends keyof BaileysEventMap>(
      event: K,
      run: (arg: BaileysEventMap[K]) => unknown,
    ) =>
      sock.ev.on(event, (arg) => {
        if (this.ended && !(this.handingOver && TRAFFIC_EVENTS.has(event))) return;
        try {
          const result = run(arg);
          if (result instanceof Promise)
            result.catch((err) =>
              this.logger.error({ err, event }, 'baileys event handler failed'),
            );
        } catch (err) {
          this.logger.error({ err, event }, 'baileys event handler failed');
        }
      });

    this.bufferWatchdog = new EventBufferWatchdog(sock.ev, (heldMs) =>
      this.logger.debug({ heldMs }, 'Released events Baileys held past their release'),
    );
    on('creds.update', () => saveCreds());
    on('connection.update', (u) => {
      if (u.qr) this.emit('qr', u.qr);
      if (u.connection === 'open') this.onOpen(sock);
      if (u.connection === 'close') {
        // Baileys drops its event buffer after this event. What it holds there was handled before the
        // close, and received messages in it had their receipts sent: WhatsApp will not send them again.
        sock.ev.flush();
        this.finish(mapBaileysClose(u.lastDisconnect?.error));
      }
    });
    // `append` upserts are live too: the offline queue delivered on reconnect, our own sends.
    // History comes only from messaging-history.set.
    on('messages.upsert', ({ messages }) => {
      this.emitMessages(messages, false);
      // Receipts that arrived while the upsert was still buffered are folded into it.
      this.emitStatuses(compact(messages.map(statusFromOwnUpsert)));
      this.emitReadElsewhere(compact(messages.map(readElsewhereFromUpsert)));
    });
    on('messaging-history.set', ({ chats, contacts, messages, lidPnMappings }) => {
      // A group's chat carries its subject as its name.
      const groups = chats.map((c) => normalizeGroup({ id: c.id, subject: c.name }));
      this.emitContacts([...compact(contacts.map(normalizeContact)), ...compact(groups)]);
      for (const m of lidPnMappings ?? []) this.emit('lidMapping', { lid: m.lid, pn: m.pn });
      this.emitMessages(messages, true);
    });
    on('messages.update', (updates) => {
      this.emitStatuses(compact(updates.map(statusFromMessageUpdate)));
      this.emitReadElsewhere(compact(updates.map(readElsewhereFromMessageUpdate)));
    });
    on('message-receipt.update', (updates) => {
      this.emitStatuses(compact(updates.map((u) => statusFromReceipt(u, this.me))));
      this.emitReadElsewhere(compact(updates.map((u) => readElsewhereFromReceipt(u, this.me))));
    });
    // Every receipt stanza, before Baileys' event buffer can merge two receipts of one message
    // into the last one (read, then delivered from the recipient's other device → delivered).
    sock.ws.on('CB:receipt', (node: BinaryNode) => {
      if (this.ended) return;
      try {
        this.emitStatuses(statusesFromReceiptNode(node, ownJids(sock)));
      } catch (err) {
        this.logger.error({ err, event: 'CB:receipt' }, 'receipt stanza handler failed');
      }
    });
    on('contacts.upsert', (contacts) => this.emitContacts(compact(contacts.map(normalizeContact))));
    on('contacts.update', (contacts) => this.emitContacts(compact(contacts.map(normalizeContact))));
    on('lid-mapping.update', ({ lid, pn }) => this.emit('lidMapping', { lid, pn }));
    // Groups joined or created, and subject changes; also what groupFetchAllParticipating found.
    on('groups.upsert', (groups) => this.emitContacts(compact(groups.map(normalizeGroup))));
    on('groups.update', (groups) => this.emitContacts(compact(groups.map(normalizeGroup))));
  }

  private onOpen(sock: WASocket): void {
    const user = sock.user;
    const jid = jidNormalizedUser(user?.id);
    const lid = user?.lid ? jidNormalizedUser(user.lid) : undefined;
    this.me = { jid, ...(lid ? { lid } : {}) };
    this.emit('open', {
      jid,
      phone: jid.split('@')[0],
      ...(lid ? { lid } : {}),
      ...(user?.name || user?.notify ? { pushName: user.name ?? user.notify } : {}),
    });
    // The subjects of the groups the account is in (renamed while we were away too): announced
    // through `groups.update`. WhatsApp also asks for this itself (a `dirty` groups bit).
    sock.groupFetchAllParticipating().catch((err: unknown) => {
      if (!this.ended) this.logger.warn({ err }, 'could not fetch the groups of the account');
    });
  }

  private emitMessages(
    messages: Parameters<typeof normalizeMessage>[0][],
    isHistory: boolean,
  ): void {
    for (const raw of messages) {
      try {
        const message = normalizeMessage(raw, { isHistory, me: this.me });
        if (message) this.emit('message', message);
      } catch (err) {
        this.logger.warn({ err, id: raw.key?.id }, 'could not normalize a message');
      }
    }
  }

  private emitStatuses(updates: WaStatusUpdate[]): void {
    for (const update of updates) this.emit('status', update);
  }

  /** One event per chat: a receipt lists several messages of one chat. */
  private emitReadElsewhere(items: ReadElsewhereItem[]): void {
    for (const chat of groupBy(items, (i) => i.chatJid).values())
      this.emit('readElsewhere', {
        chatJid: chat[0].chatJid,
        waMessageIds: chat.map((i) => i.waMessageId),
        at: new Date(Math.max(...chat.map((i) => i.at.getTime()))),
      });
  }

  private emitContacts(contacts: ContactInfo[]): void {
    if (contacts.length) this.emit('contacts', contacts);
  }

  /** Socket ended by WhatsApp/network: report once, then go quiet. */
  private finish(info: WaCloseInfo): void {
    if (this.ended) return;
    this.ended = true;
    this.bufferWatchdog?.stop();
    this.keys?.takeBack();
    this.emit('close', info);
    this.removeAllListeners();
  }

  private requireSocket(): WASocket {
    if (!this.sock || this.ended)
      throw new Error(`WhatsApp connection of ${this.sessionId} is not open`);
    return this.sock;
  }

  async sendMessage(to: string, content: OutboundContent): Promise<SendResult> {
    const sock = this.requireSocket();
    const { content: body, options } = toBaileysContent(content);
    const sent = await sock.sendMessage(to, body, options);
    if (!sent?.key.id) throw new Error('WhatsApp did not return a message id');
    const ts = Number(sent.messageTimestamp ?? 0);
    return { waMessageId: sent.key.id, timestamp: ts ? new Date(ts * 1000) : new Date() };
  }

  async downloadMedia(ref: MediaRef, maxBytes: number): Promise<Readable> {
    const sock = this.sock;
    // A stream, not Baileys' buffer: the media is never held whole, and a body past the limit is cut off.
    const stream = await downloadMediaMessage(
      fromMediaRef(ref),
      'stream',
      {},
      {
        logger: this.logger as never,
        reuploadRequest: (msg) =>
          sock ? sock.updateMediaMessage(msg) : Promise.reject(new Error('not connected')),
      },
    );
    return stream.pipe(capped(maxBytes, stream));
  }

  requestPairingCode(phoneDigits: string): Promise<string> {
    return this.requireSocket().requestPairingCode(phoneDigits);
  }

  /**
   * Re-reads the account's app state from scratch. With the stored collection versions Baileys
   * would only fetch what changed since the last sync, so contacts removed on our side would never
   * come back; without them it fetches full snapshots and announces every contact again.
   */
  async resyncContacts(): Promise<void> {
    const sock = this.requireSocket();
    await sock.authState.keys.set({
      'app-state-sync-version': Object.fromEntries(ALL_WA_PATCH_NAMES.map((name) => [name, null])),
    });
    await sock.resyncAppState(ALL_WA_PATCH_NAMES, false);
  }

  async markRead(keys: WaReadKey[]): Promise<void> {
    await this.requireSocket().readMessages(
      keys.map(({ remoteJid, participant, waMessageId }) => ({
        remoteJid,
        id: waMessageId,
        fromMe: false,
        ...(participant ? { participant } : {}),
      })),
    );
  }

  /**
   * Baileys' own `sock.logout()` only writes the request and ends: written into a connection that
   * is dropping, it resolves although WhatsApp never got it and the phone still lists the device.
   * This one resolves only once WhatsApp answered it, and throws when the connection closes first.
   */
  async logout(): Promise<void> {
    const sock = this.requireSocket();
    this.ended = true;
    this.bufferWatchdog?.stop();
    this.removeAllListeners();
    try {
      const jid = sock.authState.creds.me?.id;
      if (!jid) return; // never linked: nothing to unlink
      const closed = new Promise<never>((_, reject) =>
        sock.ev.on('connection.update', (u) => {
          if (u.connection === 'close')
            reject(new Error('the connection closed before WhatsApp confirmed the logout'));
        }),
      );
      const answer: unknown = await Promise.race([
        sock.query({
          tag: 'iq',
          attrs: { to: S_WHATSAPP_NET, type: 'set', xmlns: 'md' },
          content: [{ tag: 'remove-companion-device', attrs: { jid, reason: 'user_initiated' } }],
        }),
        closed,
      ]);
      if (!answer) throw new Error('WhatsApp did not confirm the logout');
    } finally {
      await sock.end(undefined).catch(() => undefined);
    }
  }

  flushEvents(): void {
    if (!this.ended) this.sock?.ev.flush();
  }

  /** Baileys sets `creds.me` at pair-success, and loads it with creds linked before. */
  isLinked(): boolean {
    return this.sock?.authState.creds.me?.id !== undefined;
  }

  /**
   * Ends the connection: nothing more is decrypted (keys refused: WhatsApp delivers it again at
   * the next login), and the close is not reported. What Baileys was handling finishes first:
   * a message whose receipt went out before the socket ended comes out (Baileys sends the receipt
   * before it hands the message over), one whose receipt could not go out is sent again by WhatsApp.
   */
  async close(): Promise<void> {
    this.ended = true;
    this.bufferWatchdog?.stop();
    const sock = this.sock;
    if (sock) {
      this.handingOver = true;
      await sock.end(undefined).catch(() => undefined);
      // Baileys handles one message at a time under this mutex (decrypt, receipt, hand-over).
      await within(
        sock.messageMutex.mutex(async () => undefined),
        HAND_OVER_MS,
        () => undefined,
      );
      sock.ev.flush();
      this.handingOver = false;
    }
    this.keys?.takeBack();
    this.removeAllListeners();
  }
}
