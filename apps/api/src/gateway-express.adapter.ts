import type { Server, ServerResponse } from 'node:http';
import type { NestApplicationOptions } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import type { Request } from 'express';
import { NotFoundError } from '@app/common';
import { answerClientError } from './client-error-response';

/**
 * How long requests still running when Nest closes the HTTP server (after the shutdown hooks) may
 * take before their sockets are cut.
 */
export const HTTP_DRAIN_GRACE_MS = 5_000;
/** How often a draining server closes the connections that turned idle meanwhile. */
const IDLE_SWEEP_MS = 100;

/**
 * Express with one 404 for every unknown route, and a bounded drain on shutdown.
 *
 * 404: Nest's own handler covers only the global prefix and the excluded paths, so any other path
 * (GET /nothing, /api/docs/nothing) fell through to Express's HTML page. This one runs after every
 * route, the dashboard's files and Swagger UI; what it throws reaches the exception layer Nest
 * mounts right after it (setErrorHandler), so the answer has the one error shape. The query string
 * is left out of the message: it may hold a token.
 *
 * Drain: Nest's own close awaits `server.close()`, which waits for every keep-alive socket to go
 * quiet and never tells a client to stop reusing one: a client sending back-to-back requests over
 * one socket (a load balancer's health check) kept a SIGTERMed process serving forever, after its
 * sessions had been closed. Here the shutdown begins (`beforeClose`, which `app.close()` runs before
 * any shutdown hook) by closing the listening socket and the idle keep-alive sockets; every answer
 * from then on carries `Connection: close`, so a busy socket closes after its current request. When
 * Nest closes the server (after the `beforeApplicationShutdown` hooks) the requests still running
 * get `drainGraceMs`; the sockets left then are destroyed.
 */
export class GatewayExpressAdapter extends ExpressAdapter {
  private draining = false;
  private readonly running = new Set<ServerResponse>();
  private drained?: Promise<void>;

  constructor(private readonly drainGraceMs = HTTP_DRAIN_GRACE_MS) {
    super();
  }

  override setNotFoundHandler(): void {
    this.use((req: Request) => {
      throw new NotFoundError(`Route ${req.method} ${req.path}`, 'ROUTE_NOT_FOUND');
    });
  }

  override initHttpServer(options: NestApplicationOptions): void {
    super.initHttpServer(options);
    (this.getHttpServer() as Server).on('clientError', answerClientError);
    // Before Express sees the request: an answer to one that came in while draining closes too.
    (this.getHttpServer() as Server).prependListener(
      'request',
      (_req: unknown, res: ServerResponse) => {
        if (this.draining) return closeAfter(res);
        this.running.add(res);
        res.once('close', () => this.running.delete(res));
      },
    );
  }

  /** The shutdown begins: no new connections, idle ones closed, busy ones closed after their answer. */
  override beforeClose(): void {
    super.beforeClose();
    if (this.draining) return;
    this.draining = true;
    for (const res of this.running) closeAfter(res);
    const server = this.getHttpServer() as Server | undefined;
    if (!server?.listening) return;
    this.drained = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
  }

  /** Waits for the requests still running, at most drainGraceMs, then destroys their sockets. */
  override async close(): Promise<void> {
    this.beforeClose();
    const server = this.getHttpServer() as Server | undefined;
    if (!server || !this.drained) return;
    const deadline = Date.now() + this.drainGraceMs;
    // An answer whose headers were sent before the shutdown began leaves its socket kept alive.
    const sweep = setInterval(() => {
      if (Date.now() < deadline) server.closeIdleConnections();
      else server.closeAllConnections();
    }, IDLE_SWEEP_MS);
    try {
      await this.drained;
    } finally {
      clearInterval(sweep);
    }
  }
}

function closeAfter(res: ServerResponse): void {
  if (!res.headersSent) res.setHeader('Connection', 'close');
}
