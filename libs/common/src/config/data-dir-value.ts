import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A value generated once and kept in a file under the data directory, so it survives restarts.
 * `created` says this call made it. The file is created exclusively: of two first calls, the
 * second reads what the first wrote.
 */
export function keptInDataDir(
  dataDir: string,
  name: string,
  generate: () => string,
): { value: string; created: boolean; file: string } {
  const file = join(dataDir, name);
  try {
    return { value: readFileSync(file, 'utf8').trim(), created: false, file };
  } catch {
    mkdirSync(dataDir, { recursive: true });
    const value = generate();
    try {
      writeFileSync(file, value, { mode: 0o600, flag: 'wx' });
    } catch {
      return { value: readFileSync(file, 'utf8').trim(), created: false, file };
    }
    return { value, created: true, file };
  }
}
