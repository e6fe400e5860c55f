import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pinnedGet } from './pinned-http';

describe('pinnedGet', () => {
  let server: Server;
  let port: number;
  const hosts: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      hosts.push(req.headers.host ?? '');
      res.end('pinned');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise((r) => server.close(r)));

  it('connects to the checked address, never re-resolving the host name', async () => {
    // `.invalid` never resolves (RFC 6761): only the pinned address can have answered.
    const res = await pinnedGet(`http://media.example.invalid:${port}/file`, [
      { address: '127.0.0.1', family: 4 },
    ]);
    let body = '';
    for await (const chunk of res) body += chunk;
    expect(res.statusCode).toBe(200);
    expect(body).toBe('pinned');
    expect(hosts.at(-1)).toBe(`media.example.invalid:${port}`); // the Host header keeps the name
  });

  it('resolves as usual when no addresses are given, and fails for a name that does not resolve', async () => {
    const ok = await pinnedGet(`http://127.0.0.1:${port}/`, []);
    ok.resume();
    expect(ok.statusCode).toBe(200);
    await expect(pinnedGet(`http://media.example.invalid:${port}/`, [])).rejects.toThrow(
      /ENOTFOUND|EAI_AGAIN/,
    );
  });
});
