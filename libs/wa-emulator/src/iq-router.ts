import type { AppState } from './app-state';
import type { ClientConnection } from './client-connection';
import type { CodePairing } from './code-pairing';
import type { EmulatorContext } from './emulator-context';
import type { Groups } from './groups';
import type { KeyBundles } from './key-bundles';
import type { Login } from './login';
import { MEDIA_MAX_BYTES, type MediaHost } from './media-host';
import { firstChild, iqResult, node, type BinaryNode } from './nodes';
import type { QrPairing } from './qr-pairing';
import { usyncResult } from './usync';

/** Privacy settings every emulated account has (read receipts on, everything visible). */
const PRIVACY = [
  ['readreceipts', 'all'],
  ['last', 'all'],
  ['online', 'all'],
  ['profile', 'all'],
  ['status', 'all'],
  ['groupadd', 'all'],
  ['calladd', 'all'],
];

/** The parts of the emulator an iq may be about. */
export interface IqHandlers {
  qrPairing: QrPairing;
  codePairing: CodePairing;
  keyBundles: KeyBundles;
  login: Login;
  mediaHost: MediaHost;
  groups: Groups;
  appState: AppState;
}

/** Answers a client's `<iq>` by its `xmlns`; anything not modelled gets an empty result. */
export class IqRouter {
  constructor(
    private readonly ctx: EmulatorContext,
    private readonly handlers: IqHandlers,
  ) {}

  async onIq(conn: ClientConnection, iq: BinaryNode): Promise<void> {
    const { type, xmlns } = iq.attrs;
    const first = firstChild(iq);
    if (type === 'result' || type === 'error') {
      if (first?.tag === 'pair-device-sign') this.handlers.qrPairing.onPairSigned(conn);
      return;
    }
    const companion =
      conn.account !== undefined && conn.deviceId !== undefined
        ? this.ctx.directory.companion(conn.account, conn.deviceId)
        : undefined;
    switch (xmlns) {
      case 'encrypt':
        return this.handlers.keyBundles.onEncryptIq(conn, iq, companion);
      case 'usync':
        return conn.send(iqResult(iq, [usyncResult(this.ctx.directory, iq)]));
      case 'passive':
        conn.send(iqResult(iq));
        if (companion && first?.tag === 'active') this.handlers.login.afterActive(conn, companion);
        return;
      case 'w:sync:app:state':
        return this.handlers.appState.onSyncIq(conn, iq);
      case 'privacy':
        if (type === 'get')
          return conn.send(
            iqResult(iq, [
              node(
                'privacy',
                {},
                PRIVACY.map(([name, value]) => node('category', { name, value })),
              ),
            ]),
          );
        return conn.send(iqResult(iq));
      case 'w:g2':
        return this.handlers.groups.onGroupIq(conn, iq);
      case 'blocklist':
        return conn.send(iqResult(iq, [node('list', {})]));
      case 'w:m':
        if (first?.tag === 'media_conn') return conn.send(iqResult(iq, [this.mediaConn()]));
        return conn.send(iqResult(iq));
      case 'md':
        if (first?.tag === 'link_code_companion_reg')
          return this.handlers.codePairing.onLinkCodeIq(conn, iq, first);
        if (first?.tag === 'remove-companion-device' && companion && conn.account) {
          companion.removed = true;
          this.ctx.store.save();
        }
        return conn.send(iqResult(iq));
      default:
        // props, w:p pings, w:stats, tctoken issuance, presence subscriptions…: an empty result is enough.
        return conn.send(iqResult(iq));
    }
  }

  /** `media_conn`: the emulator's own HTTPS media host, for uploads. */
  private mediaConn(): BinaryNode {
    const { mediaHost } = this.handlers;
    return node('media_conn', { auth: mediaHost.auth, ttl: '3600', auth_ttl: '3600' }, [
      node('host', {
        hostname: mediaHost.hostname,
        maxContentLengthBytes: String(MEDIA_MAX_BYTES),
      }),
    ]);
  }
}
