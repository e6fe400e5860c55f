import 'reflect-metadata';
import { ConfigValidationError, loadConfigFromEnv } from '@app/common';
import { createApp } from './app.setup';

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
  const app = await createApp(config);
  await app.listen(config.PORT);
  const url = await app.getUrl();
  process.stdout.write(`Gateway listening on ${url} (Swagger UI: ${url}/api/docs)\n`);
}

bootstrap().catch((error: unknown) => {
  process.stderr.write(`Fatal: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
