import { X509Certificate } from 'node:crypto';
import { Agent, createServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createSelfSignedCert } from './tls-cert';

describe('createSelfSignedCert', () => {
  it('makes a certificate OpenSSL parses, for the given IP and DNS names', () => {
    const { cert } = createSelfSignedCert(['127.0.0.1', 'localhost']);
    const x509 = new X509Certificate(cert);
    expect(x509.subject).toBe('CN=127.0.0.1');
    expect(x509.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(x509.checkHost('localhost')).toBe('localhost');
    expect(x509.verify(x509.publicKey)).toBe(true);
    expect(new Date(x509.validFrom).getTime()).toBeLessThan(Date.now());
  });

  it('serves HTTPS that a client trusting it (and only such a client) accepts', async () => {
    const { cert, key } = createSelfSignedCert(['127.0.0.1']);
    const server = createServer({ cert, key }, (_req, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const get = (agent: Agent) =>
      new Promise<string>((resolve, reject) => {
        const req = request({ hostname: '127.0.0.1', port, path: '/', agent }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve(body));
        });
        req.on('error', reject);
        req.end();
      });
    try {
      expect(await get(new Agent({ ca: cert }))).toBe('ok');
      await expect(get(new Agent())).rejects.toThrow(/self[- ]signed/i);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
