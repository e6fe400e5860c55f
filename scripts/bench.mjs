#!/usr/bin/env node
// Runs every compiled benchmark (dist/bench/*.bench.js) one after another, each in its own process,
// and writes bench/results.json. A benchmark prints one JSON object as its last stdout line.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';

const dir = 'dist/bench';
if (!existsSync(dir)) {
  console.error('dist/bench is missing: run `npm run build` first (npm run bench does).');
  process.exit(1);
}
const only = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.js'))
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort();

const results = {};
let failed = 0;
for (const file of files) {
  const name = file.replace(/\.bench\.js$/, '');
  process.stdout.write(`\n=== bench ${name}\n`);
  const started = Date.now();
  const run = spawnSync(process.execPath, ['--expose-gc', join(dir, file)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  });
  const lines = (run.stdout ?? '').trim().split('\n');
  process.stdout.write(lines.slice(0, -1).join('\n') + '\n');
  try {
    if (run.status !== 0) throw new Error(`exit code ${run.status}`);
    results[name] = {
      ...JSON.parse(lines[lines.length - 1]),
      seconds: (Date.now() - started) / 1000,
    };
    console.log(JSON.stringify(results[name], null, 2));
  } catch (error) {
    failed += 1;
    results[name] = { error: String(error.message ?? error) };
    console.error(`bench ${name} failed: ${results[name].error}`);
  }
}

const report = {
  generatedAt: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model,
  results,
};
if (only.length === 0) writeFileSync('bench/results.json', JSON.stringify(report, null, 2) + '\n');
else console.log('(partial run: bench/results.json not rewritten)');
process.exit(failed ? 1 : 0);
