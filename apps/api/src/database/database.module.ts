import { Global, Injectable, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { getConnectionToken, MongooseModule } from '@nestjs/mongoose';
import { join } from 'node:path';
import type { Connection } from 'mongoose';
import { APP_CONFIG, type AppConfig } from '@app/common';
import { EmbeddedMongoThread, type ThreadMemory } from '@app/embedded-mongo';

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

@Module({
  imports: [
    MongoTargetModule,
    MongooseModule.forRootAsync({
      imports: [MongoTargetModule],
      inject: [MONGO_TARGET],
      useFactory: (target: MongoTarget) => ({
        uri: target.uri,
        serverSelectionTimeoutMS: 10_000,
        // Index builds are part of boot: a missing unique index is a correctness bug, not a warning.
        autoIndex: true,
      }),
    }),
  ],
  exports: [MongoTargetModule],
})
export class DatabaseModule {}
