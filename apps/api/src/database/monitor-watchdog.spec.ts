import { EventEmitter, once } from 'node:events';
import { MongoClient } from 'mongodb';
import { EmbeddedMongoServer } from '@app/embedded-mongo';
import { MonitorWatchdog, restartServerMonitor } from './monitor-watchdog';

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
