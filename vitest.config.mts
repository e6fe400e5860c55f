import { resolve } from 'node:path';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// SWC keeps emitDecoratorMetadata, which Nest's DI needs (esbuild drops it).
const alias = {
  '@app/common': resolve(import.meta.dirname, 'libs/common/src'),
  '@app/embedded-mongo': resolve(import.meta.dirname, 'libs/embedded-mongo/src'),
  '@app/whatsapp': resolve(import.meta.dirname, 'libs/whatsapp/src'),
  '@app/sdk': resolve(import.meta.dirname, 'libs/sdk/src'),
  '@app/wa-emulator': resolve(import.meta.dirname, 'libs/wa-emulator/src'),
};
const plugins = [swc.vite({ module: { type: 'es6' } })];

export default defineConfig({
  test: {
    projects: [
      {
        plugins,
        resolve: { alias },
        test: {
          name: 'unit',
          globals: true,
          globalSetup: ['test/support/embedded-mongo-worker.setup.ts'],
          setupFiles: ['test/support/restore-spies.setup.ts'],
          include: ['apps/**/*.spec.ts', 'libs/**/*.spec.ts'],
          testTimeout: 20_000,
          // Spec files of a worker share one module graph: importing Nest, mongoose and Baileys
          // afresh for each of them took most of the suite's time (so no vi.mock of shared modules).
          isolate: false,
        },
      },
      {
        plugins,
        resolve: { alias },
        test: {
          name: 'e2e',
          globals: true,
          globalSetup: ['test/support/embedded-mongo-worker.setup.ts'],
          setupFiles: ['test/support/restore-spies.setup.ts'],
          include: ['test/**/*.e2e-spec.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          fileParallelism: false,
          // As for unit: each file boots its own app, but imports it once per run, not per file.
          isolate: false,
        },
      },
    ],
  },
});
