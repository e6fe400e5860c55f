#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { EmbeddedMongoServer } from './server';

/** `embedded-mongo --port 27017 --data ./data`: runs the server until SIGINT/SIGTERM. */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '27017' },
      data: { type: 'string' },
      fsync: { type: 'string', default: 'batch' },
      'truncate-corrupt-journal': { type: 'boolean', default: false },
    },
  });
  const fsync = values.fsync as 'always' | 'batch' | 'never';
  if (!['always', 'batch', 'never'].includes(fsync))
    throw new Error(`--fsync must be always, batch or never (got ${values.fsync})`);
  const server = await EmbeddedMongoServer.start({
    port: Number(values.port),
    dataDir: values.data,
    fsync,
    truncateCorruptJournal: values['truncate-corrupt-journal'],
    logger: {
      log: (m) => console.log(m),
      warn: (m) => console.warn(m),
      error: (m) => console.error(m),
    },
  });
  console.log(server.uri());
  if (!values.data)
    console.warn('embedded-mongo: no --data directory given; data lives in memory only');

  const shutdown = (signal: string) => {
    console.error(`embedded-mongo: ${signal} received, flushing and closing`);
    server.close().then(
      () => process.exit(0),
      (error: Error) => {
        console.error(error.message);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
