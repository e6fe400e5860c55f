import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { isIPv4 } from 'node:net';

/**
 * A self-signed X.509 v3 certificate (ECDSA P-256, SHA-256) for the emulator's HTTPS media host,
 * DER-encoded by hand: node:crypto signs but has no certificate builder, and the repository has
 * no X.509 package. Clients trust it explicitly (`ca: cert`); names: CN and subjectAltName.
 */
export interface SelfSignedCert {
  /** PEM certificate (also the CA to trust). */
  cert: string;
  /** PEM PKCS#8 private key. */
  key: string;
}

const der = (tag: number, content: Buffer): Buffer => {
  const len = content.length;
  let header: Buffer;
  if (len < 0x80) header = Buffer.from([tag, len]);
  else {
    const bytes: number[] = [];
    for (let n = len; n > 0; n >>= 8) bytes.unshift(n & 0xff);
    header = Buffer.from([tag, 0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([header, content]);
};
const seq = (...items: Buffer[]) => der(0x30, Buffer.concat(items));
const set = (...items: Buffer[]) => der(0x31, Buffer.concat(items));
const int = (value: Buffer) =>
  der(0x02, value[0] & 0x80 ? Buffer.concat([Buffer.of(0), value]) : value);
const oid = (dotted: string): Buffer => {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out = [40 * a + b];
  for (const n of rest) {
    const parts = [n & 0x7f];
    for (let v = n >> 7; v > 0; v >>= 7) parts.unshift(0x80 | (v & 0x7f));
    out.push(...parts);
  }
  return der(0x06, Buffer.from(out));
};
const utf8 = (s: string) => der(0x0c, Buffer.from(s, 'utf8'));
const utcTime = (d: Date) =>
  der(0x17, Buffer.from(`${d.toISOString().slice(2, 19).replace(/[-T:]/g, '')}Z`, 'ascii'));
const explicit = (n: number, content: Buffer) => der(0xa0 + n, content);
const octets = (b: Buffer) => der(0x04, b);
const bits = (b: Buffer) => der(0x03, Buffer.concat([Buffer.of(0), b]));

const ECDSA_SHA256 = '1.2.840.10045.4.3.2';
const COMMON_NAME = '2.5.4.3';
const SUBJECT_ALT_NAME = '2.5.29.17';
const BASIC_CONSTRAINTS = '2.5.29.19';

/** A fresh key pair and a certificate valid from yesterday for ten years, for `names` (IPv4 addresses and DNS names). */
export function createSelfSignedCert(names: string[]): SelfSignedCert {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const name = seq(set(seq(oid(COMMON_NAME), utf8(names[0] ?? 'wa-emulator'))));
  const now = Date.now();
  const serial = randomBytes(16);
  serial[0] = (serial[0] & 0x7f) | 0x01;
  const altNames = names.map((n) =>
    isIPv4(n)
      ? der(0x87, Buffer.from(n.split('.').map(Number)))
      : der(0x82, Buffer.from(n, 'ascii')),
  );
  const extensions = seq(
    seq(
      oid(BASIC_CONSTRAINTS),
      der(0x01, Buffer.of(0xff)),
      octets(seq(der(0x01, Buffer.of(0xff)))),
    ),
    seq(oid(SUBJECT_ALT_NAME), octets(seq(...altNames))),
  );
  const algorithm = seq(oid(ECDSA_SHA256));
  const tbs = seq(
    explicit(0, int(Buffer.of(2))),
    int(serial),
    algorithm,
    name,
    seq(utcTime(new Date(now - 86_400_000)), utcTime(new Date(now + 10 * 365 * 86_400_000))),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, extensions),
  );
  const signature = sign('sha256', tbs, { key: privateKey, dsaEncoding: 'der' });
  const certDer = seq(tbs, algorithm, bits(signature));
  const b64 = certDer.toString('base64').replace(/.{64}/g, '$&\n');
  return {
    cert: `-----BEGIN CERTIFICATE-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END CERTIFICATE-----\n`,
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}
