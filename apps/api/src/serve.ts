import { constants } from 'node:os';
import { ShutdownSignal } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';

/** The signals Nest's shutdown hooks handle (enableShutdownHooks with none named). */
const SHUTDOWN_SIGNALS = Object.values(ShutdownSignal) as NodeJS.Signals[];

/**
 * Runs the boot of an app built without shutdown hooks (`createApp(config, { shutdownHooks:
 * false })`): its lifecycle hooks, then `listen(port)`; resolves with the app once it listens, and
 * from then on Nest's shutdown hooks handle the signals. A shutdown signal received during the boot
 * lets the boot finish, then closes the app without listening, and resolves with undefined.
 *
 * Nest's own signal handler closes the app at once, also while `init()` still runs (its
 * NestApplication does not wait for it): the boot steps that were still using the database
 * (migrations, the session restore's preparation, the event outbox's seed, the resume of media
 * downloads) had their MongoDB client closed under them, and the boot failed with
 * `MongoClientClosedError`, exiting 1 with the step half done. Here no boot step is cut off: each
 * finishes (they are short passes; the session restore and the backfills run in the background and
 * stop at the shutdown as usual), and the shutdown that follows is the usual one.
 *
 * A second signal before the app listens (during the boot, or the close that follows it) ends the
 * process at once, with the exit code the signal
 * gives by default (128 + its number): a boot step waiting on a database that stopped answering
 * (a query held on a connection that never closes has no timeout) would otherwise keep the
 * process up whatever Ctrl-C or `kill` sends, short of SIGKILL. The step is cut off as a kill
 * would cut it off.
 */
export async function serve(
  app: NestExpressApplication,
  port: number,
  proc: Pick<NodeJS.Process, 'on' | 'removeListener' | 'exit'> = process,
): Promise<NestExpressApplication | undefined> {
  let requested: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (!requested) return void (requested = signal);
    process.stderr.write(`${signal} again during the boot: exiting now\n`);
    proc.exit(128 + (constants.signals[signal] ?? 0));
  };
  for (const signal of SHUTDOWN_SIGNALS) proc.on(signal, onSignal);
  try {
    await app.init();
    if (!requested) await app.listen(port);
    if (requested) {
      await app.close();
      return undefined;
    }
    // No await since the check above: a signal arriving from here on finds Nest's handler.
    app.enableShutdownHooks();
    return app;
  } finally {
    for (const signal of SHUTDOWN_SIGNALS) proc.removeListener(signal, onSignal);
  }
}
