import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@app/common';
import { durationToSeconds, resolveJwtSecret } from './jwt-secret';

describe('resolveJwtSecret', () => {
  it('uses JWT_SECRET when configured', () => {
    const config = loadConfig({ JWT_SECRET: 'x'.repeat(40), DATA_DIR: '/nonexistent' });
    expect(resolveJwtSecret(config)).toBe('x'.repeat(40));
  });

  it('generates a development secret once and keeps it under DATA_DIR', () => {
    const dir = mkdtempSync(join(tmpdir(), 'jwt-'));
    const config = loadConfig({ DATA_DIR: dir });
    const first = resolveJwtSecret(config);
    expect(first.length).toBeGreaterThanOrEqual(48);
    expect(resolveJwtSecret(config)).toBe(first);
    expect(readFileSync(join(dir, 'jwt-secret'), 'utf8')).toBe(first);
    expect(statSync(join(dir, 'jwt-secret')).mode & 0o777).toBe(0o600);
  });
});

describe('durationToSeconds', () => {
  it.each([
    ['3600', 3600],
    ['30s', 30],
    ['15m', 900],
    ['12h', 43200],
    ['7d', 604800],
  ])('%s → %d', (input, seconds) => expect(durationToSeconds(input)).toBe(seconds));
});
