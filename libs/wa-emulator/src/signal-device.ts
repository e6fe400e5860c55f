import * as libsignalModule from 'libsignal';

interface LibKeyPair {
  pubKey: Buffer;
  privKey: Buffer;
}

interface SessionRecordLike {
  serialize(): unknown;
  haveOpenSession(): boolean;
}

/** The part of npm `libsignal` the emulator uses (its bundled typings cover less). */
interface LibSignal {
  keyhelper: {
    generateIdentityKeyPair(): LibKeyPair;
    generateRegistrationId(): number;
    generateSignedPreKey(
      identity: LibKeyPair,
      keyId: number,
    ): { keyId: number; keyPair: LibKeyPair; signature: Buffer };
    generatePreKey(keyId: number): { keyId: number; keyPair: LibKeyPair };
  };
  curve: {
    calculateSignature(priv: Uint8Array, msg: Uint8Array): Buffer;
    generateKeyPair(): LibKeyPair;
  };
  ProtocolAddress: new (name: string, deviceId: number) => { toString(): string };
  SessionRecord: { new (): SessionRecordLike; deserialize(data: unknown): SessionRecordLike };
  SessionBuilder: new (
    storage: unknown,
    addr: unknown,
  ) => { initOutgoing(bundle: unknown): Promise<void> };
  SessionCipher: new (
    storage: unknown,
    addr: unknown,
  ) => {
    encrypt(data: Uint8Array): Promise<{ type: number; body: string }>;
    decryptPreKeyWhisperMessage(data: Uint8Array): Promise<Buffer>;
    decryptWhisperMessage(data: Uint8Array): Promise<Buffer>;
  };
}

const libsignal = libsignalModule as unknown as LibSignal;

/** A public pre-key bundle as WhatsApp's `iq encrypt` exchanges it (keys without the 0x05 type byte). */
export interface PreKeyBundle {
  registrationId: number;
  identityKey: Buffer;
  signedPreKey: { keyId: number; publicKey: Buffer; signature: Buffer };
  preKey?: { keyId: number; publicKey: Buffer };
}

export interface SignalDeviceState {
  registrationId: number;
  identity: { pub: string; priv: string };
  signedPreKey: { keyId: number; pub: string; priv: string; signature: string };
  preKeys: Record<string, { pub: string; priv: string }>;
  nextPreKeyId: number;
  /** Pre-keys handed out in a bundle (not to be handed out again), waiting for their pkmsg. */
  served: number[];
  sessions: Record<string, unknown>;
}

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const unb64 = (s: string) => Buffer.from(s, 'base64');
/** 33-byte libsignal public key → 32-byte wire key. */
export const toWireKey = (pub: Uint8Array) =>
  Buffer.from(pub.length === 33 ? pub.subarray(1) : pub);
/** 32-byte wire key → 33-byte libsignal public key. */
export const toSignalKey = (pub: Uint8Array) =>
  pub.length === 33 ? Buffer.from(pub) : Buffer.concat([Buffer.from([5]), pub]);

const PRE_KEY_BATCH = 30;

/**
 * One simulated WhatsApp device (a contact's phone, or an account's own phone) with
 * real Signal keys: it builds sessions from bundles, encrypts and decrypts pkmsg/msg.
 * Pre-keys are consumed when handed out and refilled in batches.
 */
export class SignalDevice {
  private constructor(private readonly state: SignalDeviceState) {}

  static create(): SignalDevice {
    const identity = libsignal.keyhelper.generateIdentityKeyPair();
    const signed = libsignal.keyhelper.generateSignedPreKey(identity, 1);
    const device = new SignalDevice({
      registrationId: libsignal.keyhelper.generateRegistrationId(),
      identity: { pub: b64(identity.pubKey), priv: b64(identity.privKey) },
      signedPreKey: {
        keyId: 1,
        pub: b64(signed.keyPair.pubKey),
        priv: b64(signed.keyPair.privKey),
        signature: b64(signed.signature),
      },
      preKeys: {},
      nextPreKeyId: 1,
      served: [],
      sessions: {},
    });
    device.refill();
    return device;
  }

  static restore(state: SignalDeviceState): SignalDevice {
    return new SignalDevice(state);
  }

  toJSON(): SignalDeviceState {
    return this.state;
  }

  get identityPublic(): Buffer {
    return unb64(this.state.identity.pub);
  }

  get identityPrivate(): Buffer {
    return unb64(this.state.identity.priv);
  }

  get registrationId(): number {
    return this.state.registrationId;
  }

  private refill(): void {
    for (let i = 0; i < PRE_KEY_BATCH; i++) {
      const id = this.state.nextPreKeyId++;
      const { keyPair } = libsignal.keyhelper.generatePreKey(id);
      this.state.preKeys[id] = { pub: b64(keyPair.pubKey), priv: b64(keyPair.privKey) };
    }
  }

  /** Our bundle for someone who wants to start a session with us; hands out (and reserves) one pre-key. */
  takeBundle(): PreKeyBundle {
    const served = new Set(this.state.served);
    let entry = Object.entries(this.state.preKeys).find(([id]) => !served.has(Number(id)));
    if (!entry) {
      this.refill();
      entry = Object.entries(this.state.preKeys).find(([id]) => !served.has(Number(id)));
    }
    const [id, key] = entry!;
    this.state.served.push(Number(id));
    const s = this.state.signedPreKey;
    return {
      registrationId: this.state.registrationId,
      identityKey: toWireKey(unb64(this.state.identity.pub)),
      signedPreKey: {
        keyId: s.keyId,
        publicKey: toWireKey(unb64(s.pub)),
        signature: unb64(s.signature),
      },
      preKey: { keyId: Number(id), publicKey: toWireKey(unb64(key.pub)) },
    };
  }

  private storage() {
    const st = this.state;
    return {
      loadSession: async (id: string) =>
        st.sessions[id] ? libsignal.SessionRecord.deserialize(st.sessions[id]) : undefined,
      storeSession: async (id: string, record: SessionRecordLike) => {
        st.sessions[id] = record.serialize();
      },
      isTrustedIdentity: () => true,
      loadPreKey: async (id: number | string) => {
        const k = st.preKeys[String(id)];
        return k ? { pubKey: unb64(k.pub), privKey: unb64(k.priv) } : undefined;
      },
      removePreKey: (id: number) => {
        delete st.preKeys[String(id)];
        st.served = st.served.filter((x) => x !== Number(id));
      },
      loadSignedPreKey: () => ({
        pubKey: unb64(st.signedPreKey.pub),
        privKey: unb64(st.signedPreKey.priv),
      }),
      getOurRegistrationId: () => st.registrationId,
      getOurIdentity: () => ({ pubKey: unb64(st.identity.pub), privKey: unb64(st.identity.priv) }),
    };
  }

  private address(peer: string) {
    const [name, device] = peer.split('.');
    return new libsignal.ProtocolAddress(name, Number(device ?? 0));
  }

  hasSession(peer: string): boolean {
    const raw = this.state.sessions[this.address(peer).toString()];
    return raw !== undefined && libsignal.SessionRecord.deserialize(raw).haveOpenSession();
  }

  /** Starts an outgoing session to `peer` ("name.device") from its bundle. */
  async startSession(peer: string, bundle: PreKeyBundle): Promise<void> {
    await new libsignal.SessionBuilder(this.storage(), this.address(peer)).initOutgoing({
      registrationId: bundle.registrationId,
      identityKey: toSignalKey(bundle.identityKey),
      signedPreKey: {
        keyId: bundle.signedPreKey.keyId,
        publicKey: toSignalKey(bundle.signedPreKey.publicKey),
        signature: bundle.signedPreKey.signature,
      },
      ...(bundle.preKey
        ? {
            preKey: { keyId: bundle.preKey.keyId, publicKey: toSignalKey(bundle.preKey.publicKey) },
          }
        : {}),
    });
  }

  async encrypt(
    peer: string,
    plaintext: Uint8Array,
  ): Promise<{ type: 'pkmsg' | 'msg'; ciphertext: Buffer }> {
    const { type, body } = await new libsignal.SessionCipher(
      this.storage(),
      this.address(peer),
    ).encrypt(plaintext);
    return { type: type === 3 ? 'pkmsg' : 'msg', ciphertext: Buffer.from(body, 'binary') };
  }

  async decrypt(peer: string, type: string, ciphertext: Uint8Array): Promise<Buffer> {
    const cipher = new libsignal.SessionCipher(this.storage(), this.address(peer));
    return type === 'pkmsg'
      ? cipher.decryptPreKeyWhisperMessage(ciphertext)
      : cipher.decryptWhisperMessage(ciphertext);
  }
}
