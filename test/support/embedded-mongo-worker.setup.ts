import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { transformSync } from '@swc/core';

/**
 * Vitest global setup. The app runs the embedded store on a worker thread, and a worker thread
 * cannot load TypeScript: compile the store's sources once per test run (the same compiler as the
 * tests), into node_modules/.cache so its imports of bson and mingo resolve, and point the thread
 * at the compiled entry. The built app (dist) uses its own compiled files instead.
 */
export default function setup(): () => void {
  const root = resolve(__dirname, '../..');
  const sources = join(root, 'libs/embedded-mongo/src');
  // One copy per run (several projects' setups may run at once); removed at teardown.
  const out = join(root, 'node_modules/.cache/embedded-mongo-worker', String(process.pid));
  rmSync(out, { recursive: true, force: true });
  for (const file of readdirSync(sources, { recursive: true, encoding: 'utf8' })) {
    if (!file.endsWith('.ts') || file.endsWith('.spec.ts') || file.startsWith('testing')) continue;
    const source = join(sources, file);
    const { code } = transformSync(readFileSync(source, 'utf8'), {
      filename: source,
      sourceMaps: 'inline',
      jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
      module: { type: 'commonjs' },
    });
    const target = join(out, relative(sources, source).replace(/\.ts$/, '.js'));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, code);
  }
  process.env.EMBEDDED_MONGO_WORKER_ENTRY = join(out, 'worker/worker-entry.js');
  return () => rmSync(out, { recursive: true, force: true });
}
