import { createHash } from 'node:crypto';
import { Agent, request } from 'node:https';
import { encryptMedia } from './media-crypto';
import { MediaHost } from './media-host';

const token = (b: Buffer) =>
  createHash('sha256')
    .update(b)
    .digest('base64')
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');

describe('MediaHost (the emulator HTTPS media host)', () => {
  let host: MediaHost;
  const call = (method: string, path: string, body?: Buffer) =>
    new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
      const req = request(
        {
          hostname: '127.0.0.1',
          port: host.port,
          path,
          method,
          agent: new Agent({ ca: host.cert }),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks) }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  beforeAll(async () => {
    host = await MediaHost.start('127.0.0.1', 0, () => undefined);
  });
  afterAll(async () => {
    await host.close();
  });

  it('stores an upload whose token is its fileEncSha256 and serves it at direct_path', async () => {
    const { encrypted } = encryptMedia(Buffer.from('hello'), 'document');
    const auth = encodeURIComponent(host.auth);
    const res = await call(
      'POST',
      `/mms/document/${token(encrypted)}?auth=${auth}&token=${token(encrypted)}`,
      encrypted,
    );
    expect(res.status).toBe(200);
    const { url, direct_path } = JSON.parse(res.body.toString()) as {
      url: string;
      direct_path: string;
    };
    expect(url).toBe(`https://${host.hostname}${direct_path}`);
    expect(host.find(direct_path)?.equals(encrypted)).toBe(true);
    expect(host.find(url)?.equals(encrypted)).toBe(true);
    expect((await call('GET', direct_path)).body.equals(encrypted)).toBe(true);
  });

  it('refuses uploads with a wrong token or auth', async () => {
    const { encrypted } = encryptMedia(Buffer.from('hello'), 'image');
    const auth = encodeURIComponent(host.auth);
    expect((await call('POST', `/mms/image/AAAA?auth=${auth}`, encrypted)).status).toBe(400);
    expect((await call('POST', `/mms/image/${token(encrypted)}?auth=nope`, encrypted)).status).toBe(
      401,
    );
  });
});
