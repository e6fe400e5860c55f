import { createHmac, randomBytes, randomInt } from 'node:crypto';
import { Curve, proto, WA_ADV_ACCOUNT_SIG_PREFIX } from '@whiskeysockets/baileys';
import type { ClientConnection } from './client-connection';
import type { EmulatorContext } from './emulator-context';
import { b64, unb64 } from './ids';
import { node, readUIntBE, SERVER, unixT } from './nodes';
import { toWireKey } from './signal-device';
import type { PairingProfile, PairResult } from './types';

const PAIR_REF_COUNT = 6;
/** Baileys shows `ref,…` after an optional `https://wa.me/settings/linked_devices#` prefix. */
const QR_PREFIX = /^.*#/;

type PendingPair = {
  account: string;
  deviceId: number;
  keyIndex: number;
  identityKey: Buffer;
  noiseKey: Buffer;
  resolve: (v: PairResult) => void;
  reject: (e: Error) => void;
};

/**
 * Linking a new companion: the server hands an unpaired client QR refs (`pair-device`); the phone
 * that scans one signs the companion's identity (ADV), the client confirms (`pair-device-sign`),
 * the companion is stored and told to reconnect (515). Pairing by code ends the same way.
 */
export class QrPairing {
  private readonly pendingRefs = new Map<string, ClientConnection>();
  private readonly pendingPairs = new Map<ClientConnection, PendingPair>();

  constructor(private readonly ctx: EmulatorContext) {}

  /** An unpaired client finished the Noise handshake: send it QR refs to show. */
  offerRefs(
    conn: ClientConnection,
    registration: proto.ClientPayload.IDevicePairingRegistrationData,
  ): void {
    conn.registration = registration;
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
    this.ctx.pairingWaiters.notify();
  }

  /** Waits until some client is showing a QR (has pending pairing refs). */
  async waitForPairingClient(timeoutMs = 10_000): Promise<void> {
    await this.ctx.pairingWaiters.until(
      () => this.pendingRefs.size > 0,
      timeoutMs,
      'a client waiting for a QR scan',
    );
  }

  /** The phone of `account` scans `qr` (the string Baileys emits as connection.update.qr). */
  async scan(account: string, qr: string, profile: PairingProfile = {}): Promise<PairResult> {
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
  pairDevice(
    conn: ClientConnection,
    account: string,
    profile: PairingProfile,
    identityKey: Buffer,
    noiseKey: Buffer,
    advSecret: Buffer,
  ): Promise<PairResult> {
    const { directory, store } = this.ctx;
    const user = directory.user(account, profile);
    const acc = directory.ensureAccount(user.phone);
    const deviceId = acc.nextDeviceId++;
    const keyIndex = deviceId;
    for (const r of conn.refs) this.pendingRefs.delete(r);
    conn.refs = [];

    const phoneDevice = directory.device(user);
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
    store.save();
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

  /** The client confirmed the pairing: store the companion, then ask it to reconnect (515). */
  onPairSigned(conn: ClientConnection): void {
    const pair = this.pendingPairs.get(conn);
    const reg = conn.registration;
    if (!pair || !reg) return;
    this.pendingPairs.delete(conn);
    const { directory, store } = this.ctx;
    const acc = directory.ensureAccount(pair.account);
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
    store.save();
    const user = directory.user(pair.account);
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

  onClose(conn: ClientConnection): void {
    for (const ref of conn.refs) this.pendingRefs.delete(ref);
    const pair = this.pendingPairs.get(conn);
    if (pair) {
      this.pendingPairs.delete(conn);
      pair.reject(new Error('the client disconnected before confirming the pairing'));
    }
  }
}
