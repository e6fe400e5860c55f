import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keptInDataDir } from './data-dir-value';

describe('keptInDataDir', () => {
  it('generates the value once and reads it back afterwards', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'kept-')), 'nested');
    const first = keptInDataDir(dir, 'thing', () => 'one');
    expect(first).toEqual({ value: 'one', created: true, file: join(dir, 'thing') });
    expect(readFileSync(join(dir, 'thing'), 'utf8')).toBe('one');
    expect(keptInDataDir(dir, 'thing', () => 'two')).toMatchObject({
      value: 'one',
      created: false,
    });
  });
});
