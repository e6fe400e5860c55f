import { jidDecode } from '@whiskeysockets/baileys';
import type { ClientConnection } from './client-connection';
import type { EmulatorContext } from './emulator-context';
import { b64, msgId, unb64 } from './ids';
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
  type BinaryNode,
} from './nodes';
import type { PreKeyBundle } from './signal-device';
import { phoneOf, type CompanionRecord } from './state';

/** Below this many stored pre-keys, a companion is told (`notification type=encrypt`) to upload more. */
const LOW_PRE_KEYS = 5;

/**
 * Signal key distribution (`xmlns=encrypt`): companions upload their identity, signed pre-key and
 * pre-keys; anyone asking for a device's bundle gets one pre-key, which is then used up.
 */
export class KeyBundles {
  constructor(private readonly ctx: EmulatorContext) {}

  onEncryptIq(
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
      this.ctx.store.save();
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
      this.ctx.store.save();
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
    const { directory } = this.ctx;
    const user = directory.userByJid(jid);
    if (!user) return undefined;
    const deviceId = jidDecode(jid)?.device ?? 0;
    if (deviceId === 0) return directory.device(user).takeBundle();
    const phone = phoneOf(user);
    const companion = phone ? directory.companion(phone, deviceId) : undefined;
    return phone && companion && !companion.removed
      ? this.companionBundle(phone, companion)
      : undefined;
  }

  /** A companion's bundle with one of its uploaded pre-keys (used up); asks it for more when few are left. */
  companionBundle(account: string, companion: CompanionRecord): PreKeyBundle {
    const preKey = companion.preKeys.shift();
    if (companion.preKeys.length < LOW_PRE_KEYS) {
      for (const conn of this.ctx.connections.live(account, companion.deviceId)) {
        conn.send(
          node('notification', { from: SERVER, type: 'encrypt', id: msgId(), t: unixT() }, [
            node('count', { value: String(companion.preKeys.length) }),
          ]),
        );
      }
    }
    this.ctx.store.save();
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
}
