import { createCipheriv, createDecipheriv, hkdfSync, pbkdf2, randomBytes } from 'node:crypto';
import { Curve, jidDecode } from '@whiskeysockets/baileys';
import type { ClientConnection } from './client-connection';
import type { EmulatorContext } from './emulator-context';
import { digits, msgId } from './ids';
import { bytes, child, iqResult, node, SERVER, unixT, type BinaryNode } from './nodes';
import type { KeyPair } from './noise';
import type { QrPairing } from './qr-pairing';
import { toWireKey } from './signal-device';
import type { PairingProfile, PairResult } from './types';

/** A client's companion_hello (Baileys requestPairingCode), and the phone's side once the code is typed. */
type LinkCodeHello = {
  account: string;
  ref: Buffer;
  /** salt(32) ‖ iv(16) ‖ AES-CTR(companion ephemeral public key), keyed with PBKDF2(code, salt). */
  wrappedEphemeral: Buffer;
  noiseKey: Buffer;
  at: number;
  primary?: {
    profile: PairingProfile;
    ephemeral: KeyPair;
    companionEphemeral: Buffer;
    identityPublic: Buffer;
    identityPrivate: Buffer;
    resolve: (v: PairResult) => void;
    reject: (e: Error) => void;
  };
};

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

/**
 * Linking by pairing code (`md` iq `link_code_companion_reg`): the client's companion_hello, the
 * phone typing the code (its wrapped ephemeral key in a notification), the client's
 * companion_finish key bundle → shared ADV secret → the QR pairing's pair-success path.
 */
export class CodePairing {
  private readonly linkCodes = new Map<ClientConnection, LinkCodeHello>();

  constructor(
    private readonly ctx: EmulatorContext,
    private readonly qr: QrPairing,
  ) {}

  /** Waits until a client of `account` has asked for a pairing code (companion_hello). */
  async waitForPairingCodeClient(account: string, timeoutMs = 10_000): Promise<void> {
    await this.ctx.pairingWaiters.until(
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
    profile: PairingProfile = {},
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
    const { directory } = this.ctx;
    const phoneDevice = directory.device(directory.user(account, profile));
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

  onLinkCodeIq(conn: ClientConnection, iq: BinaryNode, reg: BinaryNode): void {
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
      this.ctx.pairingWaiters.notify();
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
      this.ctx.log('pairing by code failed', { err: String(err) });
      refuse('400', 'bad-request');
      primary.reject(new Error('wrong pairing code: the key bundle does not decrypt'));
      return;
    }
    conn.send(iqResult(iq));
    this.qr
      .pairDevice(
        conn,
        hello.account,
        primary.profile,
        companionIdentity,
        hello.noiseKey,
        advSecret,
      )
      .then(primary.resolve, primary.reject);
  }

  onClose(conn: ClientConnection): void {
    const primary = this.linkCodes.get(conn)?.primary;
    this.linkCodes.delete(conn);
    if (primary) primary.reject(new Error('the client disconnected while pairing by code'));
  }
}
