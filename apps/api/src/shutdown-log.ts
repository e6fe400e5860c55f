import {
  type BeforeApplicationShutdown,
  Injectable,
  Logger,
  type OnApplicationShutdown,
} from '@nestjs/common';

/**
 * Says when a shutdown starts and how long its work took: sessions, sends and writes in flight
 * finish first, which can take seconds, and an operator watching a rollout wants to see that the
 * process is stopping, not hanging. AppModule's hooks run before those of the modules it imports,
 * so the first line comes before any of their work and the second once all of it is done, just
 * before the database connections close.
 */
@Injectable()
export class ShutdownLog implements BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly log = new Logger('Shutdown');
  private startedAt = Date.now();

  beforeApplicationShutdown(signal?: string): void {
    this.startedAt = Date.now();
    this.log.log(
      { signal },
      `Shutting down${signal ? ` on ${signal}` : ''}: finishing the work in flight`,
    );
  }

  onApplicationShutdown(signal?: string): void {
    const ms = Date.now() - this.startedAt;
    this.log.log({ signal, ms }, `Work in flight finished in ${ms} ms; closing the database`);
  }
}
