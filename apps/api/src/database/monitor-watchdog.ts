import type { EventEmitter } from 'node:events';

/** What the watchdog reads of the driver's heartbeat events (server monitoring, SDAM). */
interface HeartbeatEvent {
  connectionId: string;
}

/**
 * Restarts a server monitor of the mongodb driver that waits on a heartbeat for good.
 *
 * The driver (7.8) can send a heartbeat on a monitor connection that a database outage has just
 * closed, and then wait for its answer forever: the socket timeout never fires on a closed socket.
 * The monitor then never checks the server again (it ignores check requests while one runs), so
 * the server stays unknown and every operation fails with the stale "connection N closed" long
 * after the database is back. No heartbeat legitimately waits longer than `stuckAfterMs` (the
 * driver's longest: an awaited hello, heartbeatFrequencyMS + connectTimeoutMS), so one that has
 * is restarted with `restart(address)`.
 */
export class MonitorWatchdog {
  /** Per server address: when its heartbeat under way started. */
  private readonly pending = new Map<string, number>();

  constructor(
    client: Pick<EventEmitter, 'on'>,
    private readonly stuckAfterMs: number,
    private readonly restart: (address: string) => boolean,
    private readonly now: () => number = Date.now,
  ) {
    client.on('serverHeartbeatStarted', (e: HeartbeatEvent) =>
      this.pending.set(e.connectionId, this.now()),
    );
    const answered = (e: HeartbeatEvent) => this.pending.delete(e.connectionId);
    client.on('serverHeartbeatSucceeded', answered);
    client.on('serverHeartbeatFailed', answered);
  }

  /** Restarts the monitors whose heartbeat is overdue; returns their addresses. */
  check(): string[] {
    const overdue = [...this.pending]
      .filter(([, since]) => this.now() - since > this.stuckAfterMs)
      .map(([address]) => address);
    for (const address of overdue) {
      this.pending.delete(address);
      this.restart(address);
    }
    return overdue;
  }
}

/** The driver's monitor of one server, as far as a restart needs it (internal API). */
interface ServerMonitor {
  close(): void;
  connect(): void;
}

/**
 * Restarts the monitor of `address` in a MongoClient: closing it drops the heartbeat it waits on,
 * and connecting it checks the server at once. This reaches into the driver's internals
 * (`topology.s.servers`, `server.monitor`); false where they are not as expected.
 */
export function restartServerMonitor(client: unknown, address: string): boolean {
  const servers = (client as { topology?: { s?: { servers?: Map<string, unknown> } } }).topology?.s
    ?.servers;
  const monitor = (servers?.get(address) as { monitor?: Partial<ServerMonitor> } | undefined)
    ?.monitor;
  if (typeof monitor?.close !== 'function' || typeof monitor.connect !== 'function') return false;
  monitor.close();
  monitor.connect();
  return true;
}
