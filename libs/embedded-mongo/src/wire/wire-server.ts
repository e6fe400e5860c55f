import { createServer, type Server, type Socket } from 'node:net';
import { WireConnection, type CommandRunner } from './connection';

/** A TCP listener on 127.0.0.1 that hands every socket to a WireConnection. */
export class WireServer {
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;
  private nextConnectionId = 1;

  constructor(runCommand: CommandRunner, onProtocolError: (error: Error) => void) {
    this.server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => socket.destroy());
      new WireConnection(this.nextConnectionId++, socket, runCommand, onProtocolError);
    });
  }

  /** Resolves with the bound port (a random free one when `port` is 0). */
  listen(port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        const address = this.server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  }

  /** Stops accepting, then destroys open sockets so close() never waits on idle pooled clients. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const socket of this.sockets) socket.destroy();
    });
  }
}
