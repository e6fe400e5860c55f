import 'reflect-metadata';
import { ConfigValidationError, loadConfigFromEnv } from '@app/common';
import { createApp } from './app.setup';
import { serve } from './serve';

async function bootstrap(): Promise<void> {
  let config;
  try {
    config = loadConfigFromEnv();
  } catch (error) {
    if (error instanceof ConfigValidationError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  // A signal before this (loading, connecting) ends the process as signals do by default: no boot
  // step has run yet.
  const app = await serve(await createApp(config, { shutdownHooks: false }), config.PORT);
  if (!app) {
    // A shutdown signal during the boot: the boot finished its work, then the app closed.
    process.stdout.write('Gateway stopped before it listened (shutdown signal during the boot)\n');
    process.exit(0);
  }
  const url = await app.getUrl();
  process.stdout.write(`Gateway listening on ${url} (Swagger UI: ${url}/api/docs)\n`);
}

bootstrap().catch((error: unknown) => {
  process.stderr.write(`Fatal: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
