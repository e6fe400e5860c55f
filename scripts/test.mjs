#!/usr/bin/env node
// The README's test command: typecheck, lint, build, format, unit, e2e, e2e on the emulator.
// Runs every step even after a failure, then prints one summary table and exits non-zero if
// anything failed.
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs';

const vitest = (project, name, files = []) => [
  'npx',
  'vitest',
  'run',
  '--project',
  project,
  ...files,
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=test/artifacts/${name}.json`,
];

const step = {
  typecheck: { name: 'typecheck', cmd: ['npx', 'tsc', '-p', 'tsconfig.json', '--noEmit'] },
  lint: { name: 'lint', cmd: ['npx', 'eslint', '.', '--max-warnings=0'] },
  build: { name: 'build', cmd: ['npm', 'run', '--silent', 'build'] },
  format: { name: 'format', cmd: ['npx', 'prettier', '--check', '.'] },
  unit: { name: 'unit', cmd: vitest('unit', 'unit'), report: 'test/artifacts/unit.json' },
  e2e: { name: 'e2e', cmd: vitest('e2e', 'e2e'), report: 'test/artifacts/e2e.json' },
  // The core suites again, on the real Baileys engine against the in-process WhatsApp emulator (see libs/wa-emulator).
  emulator: {
    name: 'e2e:emulator',
    env: { E2E_ENGINE: 'emulator' },
    cmd: vitest('e2e', 'e2e-emulator', [
      'test/sessions.e2e-spec.ts',
      'test/messaging.e2e-spec.ts',
      'test/contacts.e2e-spec.ts',
      'test/stats.e2e-spec.ts',
      'test/webhooks.e2e-spec.ts',
      'test/events.e2e-spec.ts',
      'test/ingest-burst.e2e-spec.ts',
      'test/instances.e2e-spec.ts',
      'test/database-outage.e2e-spec.ts',
      'test/chaos.e2e-spec.ts',
    ]),
    report: 'test/artifacts/e2e-emulator.json',
  },
};

/**
 * CI has 2 cores. First the build (boot and crash e2e tests run its output) next to the type
 * check. Then, as an e2e file keeps about two thirds of one core busy (it mostly waits on its
 * app's timers and I/O), the rest runs in two lanes of about equal length: the sandbox e2e run in
 * one, everything else one after another in the other. Each lane runs one step at a time, so a
 * timing-sensitive test never shares the machine with more than one other step.
 */
const phases = [
  [[step.build], [step.typecheck]],
  [[step.e2e], [step.emulator, step.unit, step.lint, step.format]],
];
const order = [
  step.typecheck,
  step.lint,
  step.build,
  step.format,
  step.unit,
  step.e2e,
  step.emulator,
];

const stepEnv = (s) => ({ ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...s.env });
const heading = (s) =>
  `\n=== ${s.name}: ${Object.entries(s.env ?? {})
    .map(([k, v]) => `${k}=${v} `)
    .join('')}${s.cmd.join(' ')}\n`;
const logFile = (s) => `test/artifacts/${s.name.replace(':', '-')}.log`;

/**
 * Runs a step with its output written to test/artifacts/<step>.log and held back, then prints it
 * whole under its heading, so the two lanes' outputs never interleave.
 */
function run(s) {
  const started = Date.now();
  console.log(`--- ${s.name} started (output: ${logFile(s)})`);
  return new Promise((resolve) => {
    const child = spawn(s.cmd[0], s.cmd.slice(1), { env: stepEnv(s) });
    const log = createWriteStream(logFile(s));
    let output = '';
    const keep = (chunk) => {
      output += chunk;
      log.write(chunk);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('close', (code) => {
      log.end();
      process.stdout.write(heading(s) + output);
      resolve({
        name: s.name,
        ok: code === 0,
        seconds: (Date.now() - started) / 1000,
        ...counts(s),
      });
    });
  });
}

/** Passed/failed/skipped counts and the failed tests' names, from a vitest step's JSON report. */
function counts(s) {
  if (!s.report || !existsSync(s.report)) return {};
  const report = JSON.parse(readFileSync(s.report, 'utf8'));
  return {
    passed: report.numPassedTests,
    failed: report.numFailedTests,
    skipped: report.numPendingTests + report.numTodoTests,
    failures: report.testResults.flatMap((file) =>
      file.assertionResults
        .filter((t) => t.status === 'failed')
        .map((t) => `${file.name.replace(process.cwd() + '/', '')} › ${t.fullName}`),
    ),
  };
}

mkdirSync('test/artifacts', { recursive: true });
const started = Date.now();
const resultOf = new Map();
for (const lanes of phases) {
  await Promise.all(
    lanes.map(async (lane) => {
      for (const s of lane) resultOf.set(s, await run(s));
    }),
  );
}
const results = order.map((s) => resultOf.get(s));

console.log('\n================ test summary ================');
for (const r of results) {
  const tally =
    r.passed !== undefined ? `  passed ${r.passed}, failed ${r.failed}, skipped ${r.skipped}` : '';
  console.log(
    `${r.ok ? 'PASS' : 'FAIL'}  ${r.name.padEnd(12)} ${r.seconds.toFixed(1).padStart(6)} s${tally}`,
  );
  for (const f of r.failures ?? []) console.log(`      ✗ ${f}`);
}
const totalPassed = results.reduce((n, r) => n + (r.passed ?? 0), 0);
const totalFailed = results.reduce((n, r) => n + (r.failed ?? 0), 0);
console.log(
  `tests: ${totalPassed} passed, ${totalFailed} failed; steps: ${results.filter((r) => r.ok).length}/${results.length} ok; ${((Date.now() - started) / 1000).toFixed(0)} s`,
);
process.exit(results.every((r) => r.ok) ? 0 : 1);
