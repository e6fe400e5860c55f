import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type MediaStorage,
  type OpenedMedia,
  type RangePicker,
  streamToBuffer,
} from './media-storage';

const SAFE_KEY = /^[A-Za-z0-9_-]{1,128}$/;

/** Media as files under DATA_DIR/media, written atomically (temp file + rename). */
export class FileMediaStorage implements MediaStorage {
  constructor(private readonly dir: string) {}

  async put(key: string, data: Buffer): Promise<void> {
    const path = this.pathOf(key);
    await mkdir(this.dir, { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, data);
    await rename(tmp, path);
  }

  async open(key: string, pickRange?: RangePicker): Promise<OpenedMedia | null> {
    const path = this.pathOf(key);
    const info = await stat(path).catch(() => null);
    if (!info) return null;
    const range = pickRange?.(info.size);
    return { stream: createReadStream(path, range), size: info.size, range };
  }

  async read(key: string): Promise<Buffer | null> {
    const opened = await this.open(key);
    return opened ? streamToBuffer(opened.stream) : null;
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  private pathOf(key: string): string {
    if (!SAFE_KEY.test(key)) throw new Error(`Invalid media key: ${key}`);
    return join(this.dir, key);
  }
}
