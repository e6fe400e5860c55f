import {
  Global,
  Injectable,
  Logger,
  Module,
  OnApplicationBootstrap,
  OnApplicationShutdown,
  OnModuleDestroy,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { getConnectionToken, InjectConnection, MongooseModule } from '@nestjs/mongoose';
import { join } from 'node:path';
import type { Connection } from 'mongoose';
import { APP_CONFIG, type AppConfig, isTransientDatabaseError, within } from '@app/common';
import { EmbeddedMongoThread, type ThreadMemory } from '@app/embedded-mongo';
import { driverOptions } from './driver-options';
import {
  ClosedConnectionWatchdog,
  MonitorWatchdog,
  restartServerMonitor,
} from './monitor-watchdog';

/** How long the shutdown waits for the database to answer a ping (as the health check does). */
const SHUTDOWN_PING_MS = 1_500;

export const MONGO_TARGET = Symbol('MONGO_TARGET');

/** Where mongoose connects: the configured MONGODB_URI, or an embedded server we own. */
@Injectable()
export class MongoTarget implements OnApplicationShutdown {
  private readonly logger = new Logger(MongoTarget.name);

  private constructor(
    readonly uri: string,
    private readonly embedded: EmbeddedMongoThread | undefined,
    private readonly moduleRef: ModuleRef,
  ) {}

  static async resolve(config: AppConfig, moduleRef: ModuleRef): Promise<MongoTarget> {
    if (config.MONGODB_URI) return new MongoTarget(config.MONGODB_URI, undefined, moduleRef);
    const dataDir = join(config.DATA_DIR, 'db');
    const logger = new Logger('EmbeddedMongo');
    const server = await EmbeddedMongoThread.start({
      dataDir,
      fsync: config.EMBEDDED_MONGO_FSYNC,
      truncateCorruptJournal: config.EMBEDDED_MONGO_TRUNCATE_CORRUPT_JOURNAL === 'true',
      logger: {
        log: (message) => logger.debug(message),
        warn: (message) => logger.warn(message),
        error: (message) => logger.error(message),
      },
      // Without its store the gateway can do nothing: exit, and let the supervisor restart it on
      // the same data directory (every acknowledged write is in the journal).
      onUnexpectedExit: (reason) => {
        logger.fatal(`The embedded store's thread ended unexpectedly (${reason}); exiting`);
        process.exit(1);
      },
    });
    const target = new MongoTarget(server.uri('wa_gateway'), server, moduleRef);
    target.logger.log(
      `Embedded MongoDB store at ${dataDir} listening on 127.0.0.1:${server.port} (own thread)`,
    );
    return target;
  }

  get isEmbedded(): boolean {
    return this.embedded !== undefined;
  }

  /** The embedded store thread's memory (undefined on MongoDB); see EmbeddedMongoThread.memoryUsage. */
  embeddedMemory(options: { collectGarbage?: boolean } = {}): Promise<ThreadMemory | undefined> {
    return this.embedded ? this.embedded.memoryUsage(options) : Promise.resolve(undefined);
  }

  /** Runs after HTTP is closed; closes mongoose first so the embedded store flushes last. */
  async onApplicationShutdown(): Promise<void> {
    if (!this.embedded) return;
    const connection = this.moduleRef.get<Connection>(getConnectionToken(), { strict: false });
    await connection.close().catch(() => undefined);
    await this.embedded.close();
  }
}

@Global()
@Module({
  providers: [
    {
      provide: MONGO_TARGET,
      inject: [APP_CONFIG, ModuleRef],
      useFactory: (config: AppConfig, moduleRef: ModuleRef) =>
        MongoTarget.resolve(config, moduleRef),
    },
  ],
  exports: [MONGO_TARGET],
})
class MongoTargetModule {}

/**
 * Watches the driver for what a database outage can leave waiting for good: a server monitor's
 * heartbeat (MonitorWatchdog) and an operation on a connection already closed (ClosedConnectionWatchdog).
 */
@Injectable()
class MonitorWatchdogService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(MonitorWatchdogService.name);
  private timer?: NodeJS.Timeout;

  constructor(@InjectConnection() private readonly connection: Connection) {}

  onApplicationBootstrap(): void {
    const client = this.connection.getClient();
    const { heartbeatFrequencyMS, connectTimeoutMS } = client.options;
    const watchdog = new MonitorWatchdog(
      client,
      // The longest a heartbeat may legitimately wait (an awaited hello), and a second more.
      heartbeatFrequencyMS + connectTimeoutMS + 1_000,
      (address) => {
        const restarted = restartServerMonitor(client, address);
        this.logger.warn(
          { address, restarted },
          restarted
            ? 'The database driver waited on a heartbeat for good; its server monitor was restarted'
            : 'The database driver waits on a heartbeat for good; its server monitor could not be restarted',
        );
        return restarted;
      },
    );
    const operations = new ClosedConnectionWatchdog(client);
    this.timer = setInterval(() => {
      watchdog.check();
      const failed = operations.check();
      if (failed)
        this.logger.warn(
          { failed },
          'Database operations waited for good on a connection the driver had closed; they were failed, to be tried again',
        );
    }, 5_000).unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }
}

/**
 * A shutdown during a database outage gives up at once what waits for the database. Otherwise
 * each component's shutdown hook waited out server selection (10 s) in turn, Nest running them one
 * module after the other: the event outbox's appends, then the registry's status writes, lease
 * releases and auth-state flush, ~40 s in all, past many supervisors' grace period. Nest destroys
 * every module before any shutdown hook runs: if the database does not answer a ping by then, the
 * connection is force-closed, so every operation waiting for a server fails now, all together,
 * and every later one at once. What was given up is recovered as after a crash: creation notes
 * and outbox rows already stored are replayed, leases run out and the sessions are restored.
 */
@Injectable()
class OutageShutdownService implements OnModuleDestroy {
  private readonly logger = new Logger(OutageShutdownService.name);

  constructor(@InjectConnection() private readonly connection: Connection) {}

  async onModuleDestroy(): Promise<void> {
    if (await this.answers()) return;
    this.logger.warn(
      'The database is unreachable as the gateway stops: giving up the writes that wait for it (recovered at the next start)',
    );
    // Not a bare close: it leaves an operation the outage left waiting on a closed connection
    // waiting (for good before MonitorWatchdogService kept the pools; 5-10 s now), and with it the
    // shutdown hook behind it (a session's status write, its auth-state flush).
    const failed = await new ClosedConnectionWatchdog(this.connection.getClient())
      .closeClient(() => this.connection.close(true))
      .catch(() => 0);
    if (failed)
      this.logger.warn(
        { failed },
        'Database operations left waiting on a closed connection were failed',
      );
  }

  /** Whether the database answers a ping in time (a refusal is an answer). */
  private answers(): Promise<boolean> {
    const ping = this.connection
      .getClient()
      .db()
      .command({ ping: 1 })
      .then(
        () => true,
        (err: unknown) => !isTransientDatabaseError(err),
      );
    return within(ping, SHUTDOWN_PING_MS, () => false);
  }
}

@Module({
  imports: [
    MongoTargetModule,
    MongooseModule.forRootAsync({
      imports: [MongoTargetModule],
      inject: [MONGO_TARGET],
      useFactory: (target: MongoTarget) => ({
        uri: target.uri,
        ...driverOptions(target.uri),
        // Index builds are part of boot: a missing unique index is a correctness bug, not a warning.
        autoIndex: true,
      }),
    }),
  ],
  providers: [MonitorWatchdogService, OutageShutdownService],
  exports: [MongoTargetModule],
})
export class DatabaseModule {}
