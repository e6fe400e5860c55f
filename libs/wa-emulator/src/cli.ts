#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { WaEmulator } from './wa-emulator';

/**
 * `npm run emulator -- --port 8765 --data ./data/wa-emulator`: a local WhatsApp Web server for the
 * real Baileys engine. Point the gateway at it with WA_WEBSOCKET_URL=<printed url>.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      data: { type: 'string' },
      'auto-receipts': { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
    },
  });
  const emulator = await WaEmulator.start({
    port: Number(values.port),
    host: values.host,
    dataDir: values.data,
    ...(values['auto-receipts'] ? { autoReceipts: { deliveredMs: 500, readMs: 1500 } } : {}),
    ...(values.verbose
      ? {
          log: (message: string, details?: Record<string, unknown>) =>
            console.error(`wa-emulator: ${message}`, details ?? ''),
        }
      : {}),
  });
  console.log(emulator.url);
  console.error(
    `wa-emulator: control API at ${emulator.httpUrl}/control/accounts/<phone>/{scan,text,receipts,logout,replace,drop,outbox,status}`,
  );
  if (!values.data)
    console.error('wa-emulator: no --data directory given; state lives in memory only');

  const shutdown = (signal: string) => {
    console.error(`wa-emulator: ${signal} received, closing`);
    emulator.close().then(
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
