import type { ClientConnection } from './client-connection';

/** Every open client WebSocket, and which linked device each one is logged in as. */
export class ConnectionRegistry {
  private readonly all = new Set<ClientConnection>();

  add(conn: ClientConnection): void {
    this.all.add(conn);
  }

  delete(conn: ClientConnection): void {
    this.all.delete(conn);
  }

  /** Logged-in, open connections of `account` (or of its companion `deviceId` only). */
  live(account: string, deviceId?: number): ClientConnection[] {
    return [...this.all].filter(
      (c) =>
        !c.closed && c.account === account && (deviceId === undefined || c.deviceId === deviceId),
    );
  }

  isConnected(account: string): boolean {
    return this.live(account).length > 0;
  }

  terminateAll(): void {
    for (const conn of [...this.all]) conn.terminate();
  }
}
