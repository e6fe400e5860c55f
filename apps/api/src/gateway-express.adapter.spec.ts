import { Agent, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Request, Response } from 'express';
import { GatewayExpressAdapter } from './gateway-express.adapter';

interface Answer {
  status: number;
  connection?: string;
}

/** The adapter's HTTP server on a random port, with a quick route and one that answers when told. */
async function serve(drainGraceMs: number) {
  const adapter = new GatewayExpressAdapter(drainGraceMs);
  adapter.initHttpServer({});
  const app = adapter.getInstance<import('express').Express>();
  const held: Array<() => void> = [];
  app.get('/quick', (_req: Request, res: Response) => void res.send('ok'));
  app.get('/held', (_req: Request, res: Response) => void held.push(() => res.send('late')));
  const server = adapter.getHttpServer() as Server;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const get = (path: string, via = agent) =>
    new Promise<Answer>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, agent: via }, (res) => {
        res.resume();
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }),
        );
      });
      req.on('error', reject);
      req.end();
    });
  const connections = () =>
    new Promise<number>((resolve) => server.getConnections((_err, n) => resolve(n)));
  return { adapter, server, agent, get, held, connections };
}

const until = async (check: () => boolean | Promise<boolean>) => {
  const deadline = Date.now() + 5_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

describe('GatewayExpressAdapter shutdown drain', () => {
  it('closes idle keep-alive sockets at once, lets a running request finish with Connection: close, then closes', async () => {
    const s = await serve(5_000);
    try {
      expect(await s.get('/quick')).toEqual({ status: 200, connection: 'keep-alive' });
      const running = s.get('/held');
      await until(() => s.held.length === 1);
      const other = new Agent({ keepAlive: true });
      const idle = await s.get('/quick', other);
      expect(idle.status).toBe(200);
      expect(await s.connections()).toBe(2); // the busy socket and an idle kept-alive one

      s.adapter.beforeClose(); // app.close() does this before any shutdown hook
      await until(async () => (await s.connections()) === 1); // the idle one is closed
      expect(s.server.listening).toBe(false); // no new connections
      let closed = false;
      const closing = s.adapter.close().then(() => (closed = true));
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(closed).toBe(false); // the running request may finish

      s.held[0]();
      expect(await running).toEqual({ status: 200, connection: 'close' });
      await closing;
      expect(await s.connections()).toBe(0);
      other.destroy();
    } finally {
      s.agent.destroy();
    }
  });

  it('destroys the sockets of requests still running after the grace', async () => {
    const s = await serve(300);
    try {
      const running = s.get('/held').catch((err: NodeJS.ErrnoException) => err.code);
      await until(() => s.held.length === 1);
      s.adapter.beforeClose();
      const started = Date.now();
      await s.adapter.close();
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(await running).toBe('ECONNRESET');
    } finally {
      s.agent.destroy();
    }
  });

  it('closes without waiting when the server never listened', async () => {
    const adapter = new GatewayExpressAdapter(5_000);
    adapter.initHttpServer({});
    adapter.beforeClose();
    await adapter.close();
  });
});
