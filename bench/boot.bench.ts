import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { report, round, tempDir } from './support';

/** Cold boot of the built gateway on a fresh embedded store: time to listening, then RSS. */
async function bootOnce(): Promise<{ ms: number; rssMb: number }> {
  const data = tempDir('wagw-bench-boot-');
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [join(__dirname, '../apps/api/src/main.js')], {
    env: {
      PATH: process.env.PATH ?? '',
      PORT: '0',
      DATA_DIR: data.path,
      LOG_LEVEL: 'warn',
      NODE_ENV: 'test',
      WHATSAPP_ENGINE: 'sandbox',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const m = /listening on (http:\/\/\S+?) /.exec(out);
        if (m) resolve(m[1].replace('[::1]', '127.0.0.1'));
      });
      child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
    });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const health = (await (await fetch(`${url}/health`)).json()) as {
      info: { process: { rssBytes: number } };
    };
    return { ms, rssMb: health.info.process.rssBytes / 1024 / 1024 };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    data.remove();
  }
}

async function main(): Promise<void> {
  const runs = [];
  for (let i = 0; i < 3; i++) runs.push(await bootOnce());
  const ms = runs.map((r) => r.ms).sort((a, b) => a - b);
  report({
    name: 'boot',
    description:
      'node dist/apps/api/src/main.js to "listening" on a fresh embedded store (3 runs); RSS right after boot',
    bootMsMedian: round(ms[1]),
    bootMsMin: round(ms[0]),
    rssMbAfterBoot: round(runs[1].rssMb, 1),
  });
}

void main();
