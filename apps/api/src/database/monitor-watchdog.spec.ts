import { EventEmitter, once } from 'node:events';
import { MongoClient, MongoNetworkError } from 'mongodb';
import { EmbeddedMongoServer } from '@app/embedded-mongo';
import {
  ClosedConnectionWatchdog,
  MonitorWatchdog,
  restartServerMonitor,
} from './monitor-watchdog';

describe('MonitorWatchdog', () => {
  it('restarts the monitor of a heartbeat left unanswered past the limit, and only that one', () => {
    const client = new EventEmitter();
    let now = 0;
    const restarted: string[] = [];
    const watchdog = new MonitorWatchdog(
      client,
      20_000,
      (address) => restarted.push(address) > 0,
      () => now,
    );
    client.emit('serverHeartbeatStarted', { connectionId: 'a:1' });
    client.emit('serverHeartbeatStarted', { connectionId: 'b:1' });
    now = 15_000;
    client.emit('serverHeartbeatFailed', { connectionId: 'b:1' });
    client.emit('serverHeartbeatStarted', { connectionId: 'b:1' });
    expect(watchdog.check()).toEqual([]);
    now = 20_001;
    expect(watchdog.check()).toEqual(['a:1']);
    expect(restarted).toEqual(['a:1']);
    now = 40_000;
    client.emit('serverHeartbeatSucceeded', { connectionId: 'b:1' });
    expect(watchdog.check()).toEqual([]); // a:1 is not waited on again until it starts anew
    expect(restarted).toEqual(['a:1']);
  });
});

describe('restartServerMonitor', () => {
  let store: EmbeddedMongoServer;
  let client: MongoClient;
  beforeAll(async () => {
    store = await EmbeddedMongoServer.start({ port: 0 });
  });
  afterAll(async () => {
    await client?.close();
    await store.close();
  });

  it("gets a monitor that waits forever on a heartbeat checking the server again (driver's internals as the app uses them)", async () => {
    client = new MongoClient(`mongodb://127.0.0.1:${store.port}/x?directConnection=true`, {
      serverMonitoringMode: 'poll',
      heartbeatFrequencyMS: 500,
    });
    await client.connect();
    const address = `127.0.0.1:${store.port}`;
    // The hang the driver falls into: a heartbeat whose answer never comes.
    const servers = (client as unknown as { topology: { s: { servers: Map<string, unknown> } } })
      .topology.s.servers;
    const monitor = (servers.get(address) as { monitor: { connection: { command: unknown } } })
      .monitor;
    monitor.connection.command = () => new Promise(() => undefined);
    await once(client, 'serverHeartbeatStarted');
    const answered = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 5_000);
      client.once('serverHeartbeatSucceeded', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });

    expect(restartServerMonitor(client, address)).toBe(true);
    expect(await answered).toBe(true);
    expect(restartServerMonitor(client, '127.0.0.1:1')).toBe(false);
  });
});

describe('ClosedConnectionWatchdog', () => {
  let store: EmbeddedMongoServer;
  let client: MongoClient;
  beforeAll(async () => {
    store = await EmbeddedMongoServer.start({ port: 0 });
  });
  afterEach(async () => {
    await client?.close();
  });
  afterAll(async () => {
    await store.close();
  });

  /**
   * The race of an outage: the connection closes between its check-out and the write of the
   * command. The driver then writes into the closed socket and waits for 'drain' for good.
   * Returns the stuck update (settling with its error, if any).
   */
  async function operationLeftWaiting() {
    client = new MongoClient(`mongodb://127.0.0.1:${store.port}/x?directConnection=true`, {
      monitorCommands: true,
    });
    await client.connect();
    const messages = client.db('x').collection<{ _id: number; status?: string }>('messages');
    await messages.deleteMany({});
    await messages.insertOne({ _id: 1 });
    const inUse = () =>
      [
        ...(
          client as unknown as {
            topology: {
              s: { servers: Map<string, { pool: { checkedOutConnections: Set<Conn> } }> };
            };
          }
        ).topology.s.servers.values(),
      ].flatMap((server) => [...server.pool.checkedOutConnections]);
    const closed = new Promise<void>((resolve) =>
      client.once('commandStarted', (e: { connectionId?: number | string }) => {
        const connection = inUse().find((c) => c.id === e.connectionId)!;
        connection.once('close', () => resolve());
        connection.socket.destroy();
      }),
    );
    const update = messages
      .findOneAndUpdate({ _id: 1 }, { $set: { status: 'read' } })
      .catch((err: unknown) => err);
    await closed;
    await new Promise((resolve) => setImmediate(resolve));
    return { messages, update };
  }

  it('fails an operation left waiting on a connection the driver already closed, with its network error', async () => {
    const { messages, update } = await operationLeftWaiting();

    const watchdog = new ClosedConnectionWatchdog(client);
    expect(watchdog.check()).toBe(0); // seen once: an operation may still be noticing the close
    expect(watchdog.check()).toBe(1);
    // A network error: what the gateway waits out and tries again (isTransientDatabaseError).
    expect(await update).toBeInstanceOf(MongoNetworkError);
    expect(watchdog.check()).toBe(0);
    await messages.updateOne({ _id: 1 }, { $set: { status: 'read' } });
    expect(await messages.findOne({ _id: 1 })).toEqual({ _id: 1, status: 'read' });
  });

  // The shutdown during an outage closes the client: the close fails the operations of open
  // connections only, and the client no longer lists its connections after it.
  it('still fails such an operation once the client was closed', async () => {
    const { update } = await operationLeftWaiting();
    const watchdog = new ClosedConnectionWatchdog(client);
    expect(watchdog.check()).toBe(0);

    await client.close();
    expect(watchdog.check()).toBe(1);
    expect(await update).toBeInstanceOf(MongoNetworkError);
  });

  it('closes the client failing at once what still waits on its connections', async () => {
    const { update } = await operationLeftWaiting();

    const watchdog = new ClosedConnectionWatchdog(client);
    expect(await watchdog.closeClient(() => client.close())).toBe(1);
    expect(await update).toBeInstanceOf(MongoNetworkError);
    expect(watchdog.check()).toBe(0);
  });
});

interface Conn extends EventEmitter {
  id: number | string;
  socket: { destroy(): void };
}
