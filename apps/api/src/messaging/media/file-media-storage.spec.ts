import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileMediaStorage } from './file-media-storage';

describe('FileMediaStorage', () => {
  const dir = mkdtempSync(join(tmpdir(), 'media-'));
  const storage = new FileMediaStorage(join(dir, 'media'));

  it('round-trips bytes and reports the size', async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    await storage.put('665f1c2b1e6a3e4f7e9d0e0d', bytes);
    expect(await storage.read('665f1c2b1e6a3e4f7e9d0e0d')).toEqual(bytes);
    expect((await storage.open('665f1c2b1e6a3e4f7e9d0e0d'))?.size).toBe(5);
    expect(readdirSync(join(dir, 'media'))).toEqual(['665f1c2b1e6a3e4f7e9d0e0d']); // no temp files left
  });

  it('answers null for unknown keys and deletes idempotently', async () => {
    expect(await storage.open('missing')).toBeNull();
    await storage.delete('665f1c2b1e6a3e4f7e9d0e0d');
    await storage.delete('665f1c2b1e6a3e4f7e9d0e0d');
    expect(await storage.read('665f1c2b1e6a3e4f7e9d0e0d')).toBeNull();
  });

  it('refuses keys that could escape the directory', async () => {
    await expect(storage.put('../evil', Buffer.from('x'))).rejects.toThrow('Invalid media key');
  });
});
