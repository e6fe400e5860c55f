import type { EventEmitter } from 'node:events';
import { MongoNetworkError } from 'mongodb';

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

/** A pooled connection of the driver, as far as failing its waiting operation needs it (internal API). */
interface PooledConnection {
  closed?: boolean;
  error?: Error;
  id?: number | string;
  /** The response an operation waits for on it (set while it reads). */
  dataEvents?: { throw(error: Error): Promise<unknown> } | null;
  socket?: { emit(event: 'error', error: Error): boolean; listenerCount(event: 'error'): number };
}

/** A connection pool of the driver, as far as finding its connections in use needs it (internal API). */
interface ConnectionPool {
  closed?: boolean;
  checkedOutConnections?: Iterable<PooledConnection>;
}

/**
 * Fails the operations that wait on a connection the driver has already closed.
 *
 * The driver (7.8) can close a connection (the database went away) between the check-out and the
 * write of a command: it then writes into the closed socket and waits for its 'drain', or for an
 * answer, for good. The operation never settles, so whatever waits for it (a receipt being stored,
 * the session's next messages queued behind it, a signal key Baileys needs) waits forever too.
 * A closed connection that is still checked out at two checks in a row is such a hang (an
 * operation notices a close at once): its operation is failed with the connection's network
 * error, as the close would have failed it, so it is retried like any other outage failure.
 */
export class ClosedConnectionWatchdog {
  private suspects = new Set<PooledConnection>();
  /**
   * The pools of the client's servers, kept once the client lets them go: a closed client no
   * longer lists them, but an operation left waiting on one of their connections waits all the same.
   */
  private readonly pools = new Set<ConnectionPool>();

  constructor(private readonly client: unknown) {}

  /** Fails the operations of connections found closed and in use at the last check too; returns how many. */
  check(): number {
    const closed = new Set(this.closedInUse());
    let failed = 0;
    for (const connection of closed)
      if (this.suspects.has(connection)) {
        failWaitingOperation(connection);
        closed.delete(connection);
        failed += 1;
      }
    this.suspects = closed;
    return failed;
  }

  /**
   * Closes the client with `close`, then fails at once the operations still waiting on its
   * connections; returns how many. The client's close fails those of the connections still open,
   * not one an outage left waiting on a closed connection, nor one it caught between the check-out
   * and the write of its command (which writes into the closed socket, as in an outage).
   */
  async closeClient(close: () => Promise<unknown>): Promise<number> {
    this.closedInUse(); // the pools, while the client still lists them
    let waiting: PooledConnection[] = [];
    try {
      await close();
    } finally {
      waiting = this.closedInUse();
      for (const connection of waiting) failWaitingOperation(connection);
      this.suspects.clear();
    }
    return waiting.length;
  }

  /** The closed connections checked out of the client's pools, present and past. */
  private closedInUse(): PooledConnection[] {
    for (const pool of poolsOf(this.client)) this.pools.add(pool);
    const closed: PooledConnection[] = [];
    for (const pool of this.pools) {
      const inUse = [...(pool.checkedOutConnections ?? [])];
      if (pool.closed && inUse.length === 0) this.pools.delete(pool);
      closed.push(...inUse.filter((c) => c.closed));
    }
    return closed;
  }
}

/** The pools of the client's servers (`topology.s.servers`, `server.pool`); none once it closed. */
function poolsOf(client: unknown): ConnectionPool[] {
  const servers = (client as { topology?: { s?: { servers?: Map<string, unknown> } } }).topology?.s
    ?.servers;
  return [...(servers?.values() ?? [])].flatMap((server) => {
    const pool = (server as { pool?: ConnectionPool }).pool;
    return pool ? [pool] : [];
  });
}

function failWaitingOperation(connection: PooledConnection): void {
  const error = connection.error ?? new MongoNetworkError(`connection ${connection.id} closed`);
  // Reading: the answer's iterator throws it. Writing: the wait for 'drain' ends on a socket error.
  if (typeof connection.dataEvents?.throw === 'function')
    void connection.dataEvents.throw(error).catch(() => undefined);
  // The driver listens to its socket's errors for good; without a listener emit would throw.
  else if (connection.socket?.listenerCount('error')) connection.socket.emit('error', error);
}
