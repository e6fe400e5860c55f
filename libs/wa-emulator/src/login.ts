import { proto } from '@whiskeysockets/baileys';
import type { AppState } from './app-state';
import type { ClientConnection } from './client-connection';
import type { MessageDelivery } from './delivery';
import type { Envelopes } from './envelopes';
import type { EmulatorContext } from './emulator-context';
import { historySyncMessage } from './history-sync';
import { b64 } from './ids';
import { node, SERVER, unixT } from './nodes';
import type { CompanionRecord } from './state';

/** Delay between the offline-queue end and the initial sync (lets Baileys settle into its sync state). */
const INITIAL_SYNC_DELAY_MS = 30;

/**
 * A linked companion logging in: credentials checked against the linked device (an older
 * connection of the same device is replaced), `<success>`; after `passive active` the offline
 * queue, its end, and once per device the phone's app-state sync key and initial history sync.
 */
export class Login {
  constructor(
    private readonly ctx: EmulatorContext,
    private readonly delivery: MessageDelivery,
    private readonly envelopes: Envelopes,
    private readonly appState: AppState,
  ) {}

  login(conn: ClientConnection, account: string, deviceId: number): void {
    const { directory, connections } = this.ctx;
    const companion = directory.companion(account, deviceId);
    const noiseOk =
      companion && conn.clientStaticKey && b64(conn.clientStaticKey) === companion.noiseKey;
    if (!companion || companion.removed || !noiseOk) {
      this.ctx.log('login refused', { account, deviceId, known: !!companion });
      conn.send(node('failure', { reason: '401', location: 'emulator' }));
      setImmediate(() => conn.close());
      return;
    }
    for (const old of connections.live(account, deviceId)) {
      old.send(node('stream:error', {}, [node('conflict', { type: 'replaced' })]));
      old.close();
    }
    conn.account = account;
    conn.deviceId = deviceId;
    const user = directory.user(account);
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

  /** After `passive active`: deliver what queued up while offline, end the offline phase, then the initial history sync. */
  afterActive(conn: ClientConnection, companion: CompanionRecord): void {
    const queued = this.delivery.takeOfflineQueue(conn.account!, companion.deviceId);
    for (const stanza of queued) conn.send({ ...stanza, attrs: { ...stanza.attrs, offline: '1' } });
    conn.send(node('ib', { from: SERVER }, [node('offline', { count: String(queued.length) })]));
    if (!companion.historySynced || !companion.appStateKeyShared) {
      setTimeout(
        () =>
          void this.sendInitialSync(conn, companion).catch((err) =>
            this.ctx.log('initial sync failed', { err: String(err) }),
          ),
        INITIAL_SYNC_DELAY_MS,
      );
    }
  }

  /**
   * What the phone sends a newly linked device: its app-state sync key (so the device can read the
   * address book), then an empty INITIAL_BOOTSTRAP history sync (Baileys then syncs app state and
   * goes online at once instead of after its 20 s wait).
   */
  private async sendInitialSync(conn: ClientConnection, companion: CompanionRecord): Promise<void> {
    if (!companion.appStateKeyShared) {
      if (
        !(await this.sendFromOwnPhone(
          conn,
          companion,
          this.appState.keyShareMessage(conn.account!),
        ))
      )
        return;
      companion.appStateKeyShared = true;
      this.ctx.store.save();
    }
    if (!companion.historySynced) {
      const history = historySyncMessage({
        syncType: proto.HistorySync.HistorySyncType.INITIAL_BOOTSTRAP,
        conversations: [],
      });
      if (!(await this.sendFromOwnPhone(conn, companion, history))) return;
      companion.historySynced = true;
      this.ctx.store.save();
    }
  }

  /** Encrypts a peer message from the account's own phone to this connection; false if it closed meanwhile. */
  private async sendFromOwnPhone(
    conn: ClientConnection,
    companion: CompanionRecord,
    message: proto.IMessage,
  ): Promise<boolean> {
    if (conn.closed || !conn.account) return false;
    const user = this.ctx.directory.user(conn.account);
    const stanza = await this.envelopes.encryptStanza(user, conn.account, companion, message, {
      from: `${user.phone}@s.whatsapp.net`,
      type: 'text',
      category: 'peer',
    });
    if (conn.closed) return false;
    conn.send(stanza);
    return true;
  }
}
