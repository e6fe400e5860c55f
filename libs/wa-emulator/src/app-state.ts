import { randomBytes, randomInt } from 'node:crypto';
import { encodeSyncdPatch, proto, type LTHashState } from '@whiskeysockets/baileys';
import type { ClientConnection } from './client-connection';
import type { EmulatorContext } from './emulator-context';
import { b64, msgId, unb64 } from './ids';
import { child, children, iqResult, node, SERVER, unixT, type BinaryNode } from './nodes';
import type { AppStateCollectionRecord, AppStateRecord } from './state';

/** The app-state collection WhatsApp keeps the address book (contactAction) in. */
export const CONTACTS_COLLECTION = 'critical_unblock_low';
/** Version of the contactAction sync action Baileys writes (what WhatsApp Web uses). */
const CONTACT_ACTION_API_VERSION = 2;

/** An address-book entry of the phone, as a contactAction mutation. */
export interface AddressBookEntry {
  /** The contact's JID (PN, or LID). */
  jid: string;
  fullName: string;
  firstName?: string;
  /** The contact's LID JID, when the entry is by phone number. */
  lidJid?: string;
}

/**
 * The account's app state (WhatsApp's end-to-end encrypted settings sync, `w:sync:app:state`):
 * here the phone's address book. The phone shares its app-state sync key with each companion
 * (`APP_STATE_SYNC_KEY_SHARE`) and writes patches made with Baileys' own encoder
 * (`encodeSyncdPatch`: encrypted mutations, value/index MACs, LT hash, snapshot and patch MACs);
 * companions fetch the patches past the version they hold, inline.
 */
export class AppState {
  constructor(private readonly ctx: EmulatorContext) {}

  private record(account: string): AppStateRecord {
    const all = (this.ctx.store.state.appState ??= {});
    let record = all[account];
    if (!record) {
      record = {
        key: { id: b64(randomBytes(6)), data: b64(randomBytes(32)), timestamp: Date.now() },
        collections: {},
      };
      all[account] = record;
      this.ctx.store.save();
    }
    return record;
  }

  /** The phone's `APP_STATE_SYNC_KEY_SHARE` message for its companions. */
  keyShareMessage(account: string): proto.IMessage {
    const { key } = this.record(account);
    return {
      protocolMessage: {
        type: proto.Message.ProtocolMessage.Type.APP_STATE_SYNC_KEY_SHARE,
        appStateSyncKeyShare: {
          keys: [
            {
              keyId: { keyId: unb64(key.id) },
              keyData: {
                keyData: unb64(key.data),
                fingerprint: { rawId: randomInt(1, 2 ** 31), currentIndex: 0, deviceIndexes: [0] },
                timestamp: key.timestamp,
              },
            },
          ],
        },
      },
    };
  }

  /** Writes (or overwrites) address-book entries as contactAction patches; returns the collection version. */
  async setContacts(account: string, entries: AddressBookEntry[]): Promise<number> {
    const record = this.record(account);
    const collection = (record.collections[CONTACTS_COLLECTION] ??= {
      version: 0,
      hash: b64(Buffer.alloc(128)),
      indexValueMap: {},
      patches: [],
    });
    const getKey = async (id: string) =>
      id === record.key.id ? { keyData: unb64(record.key.data) } : undefined;
    let state = toLtHash(collection);
    for (const entry of entries) {
      const encoded = await encodeSyncdPatch(
        {
          type: CONTACTS_COLLECTION,
          index: ['contact', entry.jid],
          syncAction: {
            timestamp: Date.now(),
            contactAction: {
              fullName: entry.fullName,
              ...(entry.firstName ? { firstName: entry.firstName } : {}),
              ...(entry.lidJid ? { lidJid: entry.lidJid } : {}),
            },
          },
          apiVersion: CONTACT_ACTION_API_VERSION,
          operation: proto.SyncdMutation.SyncdOperation.SET,
        },
        record.key.id,
        state,
        getKey,
      );
      state = encoded.state;
      const patch = proto.SyncdPatch.encode({
        ...encoded.patch,
        version: { version: state.version },
      }).finish();
      collection.patches.push(b64(patch));
    }
    Object.assign(collection, fromLtHash(state));
    this.ctx.store.save();
    return collection.version;
  }

  /** `server_sync`: tells the live companions a collection changed (Baileys then syncs it). */
  notifyChanged(account: string, name: string, deviceId?: number): void {
    const version = this.record(account).collections[name]?.version ?? 0;
    for (const conn of this.ctx.connections.live(account, deviceId))
      conn.send(
        node('notification', { from: SERVER, type: 'server_sync', id: msgId(), t: unixT() }, [
          node('collection', { name, version: String(version) }),
        ]),
      );
  }

  /** `w:sync:app:state`: for each collection asked for, the patches past the client's version. */
  onSyncIq(conn: ClientConnection, iq: BinaryNode): void {
    const record = conn.account ? this.ctx.store.state.appState?.[conn.account] : undefined;
    const collections = children(child(iq, 'sync'), 'collection').map((c) => {
      const name = c.attrs.name;
      const from = Number(c.attrs.version ?? 0);
      const stored = record?.collections[name];
      const patches = (stored?.patches ?? []).slice(from).map((p) => node('patch', {}, unb64(p)));
      return node(
        'collection',
        { name, version: String(stored?.version ?? from), has_more_patches: 'false' },
        patches.length ? [node('patches', {}, patches)] : undefined,
      );
    });
    conn.send(iqResult(iq, [node('sync', {}, collections)]));
  }
}

function toLtHash(c: AppStateCollectionRecord): LTHashState {
  return {
    version: c.version,
    hash: unb64(c.hash),
    indexValueMap: Object.fromEntries(
      Object.entries(c.indexValueMap).map(([index, mac]) => [index, { valueMac: unb64(mac) }]),
    ),
  };
}

function fromLtHash(
  state: LTHashState,
): Pick<AppStateCollectionRecord, 'version' | 'hash' | 'indexValueMap'> {
  return {
    version: state.version,
    hash: b64(state.hash),
    indexValueMap: Object.fromEntries(
      Object.entries(state.indexValueMap).map(([index, { valueMac }]) => [index, b64(valueMac)]),
    ),
  };
}
