import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from './app-config';
import { instanceIdOf } from './instance-id';

describe('instanceIdOf', () => {
  const dataDir = () => mkdtempSync(join(tmpdir(), 'instance-id-'));

  it('on the embedded store: one id per data directory, the same after a restart', () => {
    const dir = dataDir();
    const first = instanceIdOf(loadConfig({ DATA_DIR: dir }));
    expect(first).toMatch(/^wa-[0-9a-f-]{36}$/);
    expect(instanceIdOf(loadConfig({ DATA_DIR: dir }))).toBe(first);
    expect(instanceIdOf(loadConfig({ DATA_DIR: dataDir() }))).not.toBe(first);
  });

  it('INSTANCE_ID wins; on MongoDB without it, a random one per process', () => {
    const dir = dataDir();
    expect(instanceIdOf(loadConfig({ DATA_DIR: dir, INSTANCE_ID: 'gw-0' }))).toBe('gw-0');
    const onMongo = loadConfig({ DATA_DIR: dir, MONGODB_URI: 'mongodb://db:27017/x' });
    expect(instanceIdOf(onMongo)).toMatch(/^wa-[0-9a-f-]{36}$/);
    expect(instanceIdOf(onMongo)).not.toBe(instanceIdOf(onMongo));
    expect(() => loadConfig({ INSTANCE_ID: 'two words' })).toThrow(/INSTANCE_ID/);
  });
});
