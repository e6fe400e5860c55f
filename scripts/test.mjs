#!/usr/bin/env node
// The README's test command: typecheck, lint, unit, e2e. Runs every step even after a failure,
// then prints one summary table and exits non-zero if anything failed.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, existsSync } from 'node:fs';

/** Single-threaded checks, run two at a time (CI has 2 cores); each one's output is printed whole. */
const checks = [
  { name: 'typecheck', cmd: ['npx', 'tsc', '-p', 'tsconfig.json', '--noEmit'] },
  { name: 'lint', cmd: ['npx', 'eslint', '.', '--max-warnings=0'] },
  { name: 'build', cmd: ['npm', 'run', '--silent', 'build'] },
  { name: 'format', cmd: ['npx', 'prettier', '--check', '.'] },
];
const CHECKS_AT_ONCE = 2;

const steps = [
  {
    name: 'unit',
    cmd: [
      'npx',
      'vitest',
      'run',
      '--project',
      'unit',
      '--reporter=default',
      '--reporter=json',
      '--outputFile.json=test/artifacts/unit.json',
    ],
    report: 'test/artifacts/unit.json',
  },
  {
    name: 'e2e',
    cmd: [
      'npx',
      'vitest',
      'run',
      '--project',
      'e2e',
      '--reporter=default',
      '--reporter=json',
      '--outputFile.json=test/artifacts/e2e.json',
    ],
    report: 'test/artifacts/e2e.json',
  },
  // The core suites again, on the real Baileys engine against the in-process WhatsApp emulator (see libs/wa-emulator).
  {
    name: 'e2e:emulator',
    env: { E2E_ENGINE: 'emulator' },
    cmd: [
      'npx',
      'vitest',
      'run',
      '--project',
      'e2e',
      'test/sessions.e2e-spec.ts',
      'test/messaging.e2e-spec.ts',
      'test/contacts.e2e-spec.ts',
      'test/stats.e2e-spec.ts',
      'test/webhooks.e2e-spec.ts',
      'test/events.e2e-spec.ts',
      'test/ingest-burst.e2e-spec.ts',
      'test/instances.e2e-spec.ts',
      'test/database-outage.e2e-spec.ts',
      '--reporter=default',
      '--reporter=json',
      '--outputFile.json=test/artifacts/e2e-emulator.json',
    ],
    report: 'test/artifacts/e2e-emulator.json',
  },
];

const stepEnv = (step) => ({ ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...step.env });
const heading = (step) =>
  `\n=== ${step.name}: ${Object.entries(step.env ?? {})
    .map(([k, v]) => `${k}=${v} `)
    .join('')}${step.cmd.join(' ')}\n`;

/** Runs a check with its output held back, then prints it under its heading. */
function runCheck(step) {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(step.cmd[0], step.cmd.slice(1), { env: stepEnv(step) });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('close', (code) => {
      process.stdout.write(heading(step) + output);
      resolve({ name: step.name, ok: code === 0, seconds: (Date.now() - started) / 1000 });
    });
  });
}

mkdirSync('test/artifacts', { recursive: true });
const results = [];
const queue = [...checks];
const checkResults = new Map();
await Promise.all(
  Array.from({ length: CHECKS_AT_ONCE }, async () => {
    for (let step = queue.shift(); step; step = queue.shift())
      checkResults.set(step.name, await runCheck(step));
  }),
);
for (const step of checks) results.push(checkResults.get(step.name));

for (const step of steps) {
  const started = Date.now();
  process.stdout.write(heading(step));
  const run = spawnSync(step.cmd[0], step.cmd.slice(1), { stdio: 'inherit', env: stepEnv(step) });
  const result = { name: step.name, ok: run.status === 0, seconds: (Date.now() - started) / 1000 };
  if (step.report && existsSync(step.report)) {
    const report = JSON.parse(readFileSync(step.report, 'utf8'));
    Object.assign(result, {
      passed: report.numPassedTests,
      failed: report.numFailedTests,
      skipped: report.numPendingTests + report.numTodoTests,
    });
    result.failures = report.testResults.flatMap((file) =>
      file.assertionResults
        .filter((t) => t.status === 'failed')
        .map((t) => `${file.name.replace(process.cwd() + '/', '')} › ${t.fullName}`),
    );
  }
  results.push(result);
}

console.log('\n================ test summary ================');
for (const r of results) {
  const counts =
    r.passed !== undefined ? `  passed ${r.passed}, failed ${r.failed}, skipped ${r.skipped}` : '';
  console.log(
    `${r.ok ? 'PASS' : 'FAIL'}  ${r.name.padEnd(10)} ${r.seconds.toFixed(1).padStart(6)} s${counts}`,
  );
  for (const f of r.failures ?? []) console.log(`      ✗ ${f}`);
}
const totalPassed = results.reduce((n, r) => n + (r.passed ?? 0), 0);
const totalFailed = results.reduce((n, r) => n + (r.failed ?? 0), 0);
console.log(
  `tests: ${totalPassed} passed, ${totalFailed} failed; steps: ${results.filter((r) => r.ok).length}/${results.length} ok`,
);
process.exit(results.every((r) => r.ok) ? 0 : 1);
