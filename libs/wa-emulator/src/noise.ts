import { createCipheriv, createDecipheriv, createHash, hkdfSync } from 'node:crypto';
import { Curve, NOISE_MODE, NOISE_WA_HEADER, proto } from '@whiskeysockets/baileys';

const IV_LENGTH = 12;
const TAG_LENGTH = 16;
const EMPTY = Buffer.alloc(0);

export interface KeyPair {
  public: Buffer;
  private: Buffer;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest();

function iv(counter: number): Buffer {
  const out = Buffer.alloc(IV_LENGTH);
  out.writeUInt32BE(counter, 8);
  return out;
}

export function aesGcmEncrypt(
  plaintext: Uint8Array,
  key: Buffer,
  nonce: Buffer,
  aad: Buffer,
): Buffer {
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aad);
  return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

export function aesGcmDecrypt(
  ciphertext: Uint8Array,
  key: Buffer,
  nonce: Buffer,
  aad: Buffer,
): Buffer {
  const buf = Buffer.from(ciphertext);
  const decipher = createDecipheriv('aes-256-gcm', key, nonce);
  decipher.setAAD(aad);
  decipher.setAuthTag(buf.subarray(buf.length - TAG_LENGTH));
  return Buffer.concat([
    decipher.update(buf.subarray(0, buf.length - TAG_LENGTH)),
    decipher.final(),
  ]);
}

/** HKDF-SHA256 of `ikm` with `salt`, split into two 32-byte keys. */
function split(ikm: Buffer, salt: Buffer): [Buffer, Buffer] {
  const out = Buffer.from(hkdfSync('sha256', ikm, salt, EMPTY, 64));
  return [out.subarray(0, 32), out.subarray(32)];
}

/** The emulator's Noise certificate chain: root → intermediate (serial 0 issuer) → leaf (the server static key). */
export interface NoiseIdentity {
  staticKey: KeyPair;
  rootKey: KeyPair;
  certChain: Buffer;
}

export function createNoiseIdentity(
  staticKey: KeyPair = Curve.generateKeyPair() as KeyPair,
  rootKey: KeyPair = Curve.generateKeyPair() as KeyPair,
): NoiseIdentity {
  const intermediateKey = Curve.generateKeyPair() as KeyPair;
  const now = Math.floor(Date.now() / 1000);
  const intermediateDetails = proto.CertChain.NoiseCertificate.Details.encode({
    serial: 1,
    issuerSerial: 0,
    key: intermediateKey.public,
    notBefore: now - 3600,
    notAfter: now + 365 * 86400,
  }).finish();
  const leafDetails = proto.CertChain.NoiseCertificate.Details.encode({
    serial: 2,
    issuerSerial: 1,
    key: staticKey.public,
    notBefore: now - 3600,
    notAfter: now + 30 * 86400,
  }).finish();
  const certChain = Buffer.from(
    proto.CertChain.encode({
      intermediate: {
        details: intermediateDetails,
        signature: Curve.sign(rootKey.private, intermediateDetails),
      },
      leaf: { details: leafDetails, signature: Curve.sign(intermediateKey.private, leafDetails) },
    }).finish(),
  );
  return { staticKey, rootKey, certChain };
}

/**
 * Responder side of WhatsApp's Noise_XX_25519_AESGCM_SHA256 handshake (the mirror of
 * Baileys' noise-handler), followed by the transport phase.
 */
export class NoiseResponder {
  private hash: Buffer;
  private salt: Buffer;
  private key: Buffer;
  private counter = 0;
  private ephemeral: KeyPair = Curve.generateKeyPair() as KeyPair;
  private transport?: { enc: Buffer; dec: Buffer; readCounter: number; writeCounter: number };
  /** The client's static noise public key, known after `finish`. */
  clientStatic?: Buffer;

  constructor(private readonly identity: NoiseIdentity) {
    const mode = Buffer.from(NOISE_MODE);
    this.hash = mode.length === 32 ? mode : sha256(mode);
    this.salt = this.hash;
    this.key = this.hash;
    this.authenticate(Buffer.from(NOISE_WA_HEADER));
  }

  get ready(): boolean {
    return this.transport !== undefined;
  }

  private authenticate(data: Uint8Array): void {
    if (!this.transport) this.hash = sha256(Buffer.concat([this.hash, data]));
  }

  private mixIntoKey(data: Buffer): void {
    const [write, read] = split(data, this.salt);
    this.salt = write;
    this.key = read;
    this.counter = 0;
  }

  private encryptHandshake(plaintext: Uint8Array): Buffer {
    const out = aesGcmEncrypt(plaintext, this.key, iv(this.counter++), this.hash);
    this.authenticate(out);
    return out;
  }

  private decryptHandshake(ciphertext: Uint8Array): Buffer {
    const out = aesGcmDecrypt(ciphertext, this.key, iv(this.counter++), this.hash);
    this.authenticate(ciphertext);
    return out;
  }

  /** ClientHello bytes → ServerHello bytes. */
  hello(clientHelloFrame: Uint8Array): Buffer {
    const { clientHello } = proto.HandshakeMessage.decode(clientHelloFrame);
    if (!clientHello?.ephemeral) throw new Error('expected a ClientHello');
    const clientEphemeral = Buffer.from(clientHello.ephemeral);
    this.authenticate(clientEphemeral);
    this.authenticate(this.ephemeral.public);
    this.mixIntoKey(Curve.sharedKey(this.ephemeral.private, clientEphemeral));
    const staticEnc = this.encryptHandshake(this.identity.staticKey.public);
    this.mixIntoKey(Curve.sharedKey(this.identity.staticKey.private, clientEphemeral));
    const payload = this.encryptHandshake(this.identity.certChain);
    return Buffer.from(
      proto.HandshakeMessage.encode({
        serverHello: { ephemeral: this.ephemeral.public, static: staticEnc, payload },
      }).finish(),
    );
  }

  /** ClientFinish bytes → the decoded ClientPayload; switches to transport mode. */
  finish(clientFinishFrame: Uint8Array): proto.ClientPayload {
    const { clientFinish } = proto.HandshakeMessage.decode(clientFinishFrame);
    if (!clientFinish?.static || !clientFinish.payload) throw new Error('expected a ClientFinish');
    const clientStatic = this.decryptHandshake(clientFinish.static);
    this.mixIntoKey(Curve.sharedKey(this.ephemeral.private, clientStatic));
    const payload = proto.ClientPayload.decode(this.decryptHandshake(clientFinish.payload));
    const [clientWrite, clientRead] = split(EMPTY, this.salt);
    this.transport = { enc: clientRead, dec: clientWrite, readCounter: 0, writeCounter: 0 };
    this.clientStatic = clientStatic;
    return payload;
  }

  encrypt(plaintext: Uint8Array): Buffer {
    if (!this.transport) throw new Error('noise transport not ready');
    return aesGcmEncrypt(plaintext, this.transport.enc, iv(this.transport.writeCounter++), EMPTY);
  }

  decrypt(ciphertext: Uint8Array): Buffer {
    if (!this.transport) throw new Error('noise transport not ready');
    return aesGcmDecrypt(ciphertext, this.transport.dec, iv(this.transport.readCounter++), EMPTY);
  }
}

/** Splits the byte stream into 3-byte-length-prefixed frames; strips the client's intro header first. */
export class FrameReader {
  private buffer: Buffer = Buffer.alloc(0);
  private headerSeen = false;

  push(data: Buffer): Buffer[] {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, data]) : data;
    if (!this.headerSeen) {
      if (this.buffer.length < NOISE_WA_HEADER.length) return [];
      const header = this.buffer.subarray(0, 2).toString('latin1');
      if (header === 'ED') throw new Error('routing-info intro headers are not supported');
      if (header !== 'WA') throw new Error('bad intro header');
      this.buffer = this.buffer.subarray(NOISE_WA_HEADER.length);
      this.headerSeen = true;
    }
    const frames: Buffer[] = [];
    while (this.buffer.length >= 3) {
      const size = (this.buffer[0] << 16) | (this.buffer[1] << 8) | this.buffer[2];
      if (this.buffer.length < size + 3) break;
      frames.push(this.buffer.subarray(3, size + 3));
      this.buffer = this.buffer.subarray(size + 3);
    }
    return frames;
  }
}

export function frame(data: Buffer): Buffer {
  const out = Buffer.alloc(3 + data.length);
  out[0] = (data.length >>> 16) & 0xff;
  out[1] = (data.length >>> 8) & 0xff;
  out[2] = data.length & 0xff;
  data.copy(out, 3);
  return out;
}
