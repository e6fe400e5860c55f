import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SandboxMediaStore } from './sandbox-media-store';

describe('SandboxMediaStore', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'sbx-media-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps media in its directory across a restart, as WhatsApp keeps it for a later download', () => {
    const key = new SandboxMediaStore(1024, dir).put(Buffer.from('photo bytes'));
    expect(new SandboxMediaStore(1024, dir).get(key)?.toString()).toBe('photo bytes');
  });

  it('evicts the oldest past its budget, counting what a previous run left', () => {
    const first = new SandboxMediaStore(10, dir);
    const old = first.put(Buffer.alloc(6, 1));
    const second = new SandboxMediaStore(10, dir);
    const fresh = second.put(Buffer.alloc(6, 2));
    expect(second.get(old)).toBeUndefined();
    expect(second.get(fresh)).toEqual(Buffer.alloc(6, 2));
    expect(readdirSync(dir)).toEqual([fresh]);
  });

  it('without a directory, keeps media in memory within the budget', () => {
    const store = new SandboxMediaStore(10);
    const a = store.put(Buffer.alloc(6, 1));
    const b = store.put(Buffer.alloc(6, 2));
    expect(store.get(a)).toBeUndefined();
    expect(store.get(b)).toEqual(Buffer.alloc(6, 2));
    expect(store.get('sbx-media-unknown')).toBeUndefined();
  });
});
