import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import {
  type MediaStorage,
  type OpenedMedia,
  type RangePicker,
  type UnfinishedSweep,
} from './media-storage';

const SAFE_KEY = /^[A-Za-z0-9_-]{1,128}$/;
/** A put's temp file: `<key>.<pid>.tmp`. */
const TEMP_FILE = /^[A-Za-z0-9_-]{1,128}\.\d+\.tmp$/;

/**
 * Media as files under DATA_DIR/media, written atomically (temp file + rename) and, when
 * `durable`, flushed to disk before a put resolves: a message the store keeps through a power
 * loss (EMBEDDED_MONGO_FSYNC) then never holds media that was still in the page cache.
 */
export class FileMediaStorage implements MediaStorage {
  constructor(
    private readonly dir: string,
    private readonly durable = true,
  ) {}

  async put(key: string, data: Buffer | Readable): Promise<number> {
    const path = this.pathOf(key);
    await mkdir(this.dir, { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    try {
      if (Buffer.isBuffer(data)) await writeFile(tmp, data);
      else await pipeline(data, createWriteStream(tmp));
      await this.flush(tmp); // the bytes, before the name points at them
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
    await rename(tmp, path);
    await this.flush(this.dir); // the name
    return (await stat(path)).size;
  }

  private async flush(path: string): Promise<void> {
    if (!this.durable) return;
    const handle = await open(path, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  /**
   * Measured and read through one open file: a delete or re-put meanwhile (a failed send's media
   * discarded) changes neither, so the bytes served are always the size answered.
   */
  async open(key: string, pickRange?: RangePicker): Promise<OpenedMedia | null> {
    const file = await open(this.pathOf(key), 'r').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return null;
      throw error;
    });
    if (!file) return null;
    try {
      const { size } = await file.stat();
      const range = pickRange?.(size);
      // Closes the file once read, or destroyed (a client gone).
      return { stream: file.createReadStream(range), size, range };
    } catch (error) {
      await file.close(); // a range that cannot be served (416)
      throw error;
    }
  }

  async read(key: string): Promise<Buffer | null> {
    const opened = await this.open(key);
    return opened ? buffer(opened.stream) : null;
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  /** Lists the directory whole (names only), then reads the time of each key after `after`. */
  async *listStoredBefore(before: Date, after = ''): AsyncIterable<string> {
    // Temp files of writes under way (or cut off) are no keys.
    const keys = (await this.names()).filter((name) => SAFE_KEY.test(name) && name > after).sort();
    for (const key of keys) if (await this.storedBefore(key, before)) yield key;
  }

  /** Temp files last written before `before` (a write under way renews its file's time), all at once. */
  async deleteUnfinishedBefore(before: Date): Promise<UnfinishedSweep> {
    let deleted = 0;
    for (const name of await this.names()) {
      if (!TEMP_FILE.test(name)) continue;
      const path = join(this.dir, name);
      const info = await stat(path).catch(() => null);
      if (!info || info.mtime >= before) continue;
      await rm(path, { force: true });
      deleted += 1;
    }
    return { deleted };
  }

  private async names(): Promise<string[]> {
    return readdir(this.dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return []; // nothing stored yet
      throw error;
    });
  }

  async deleteStoredBefore(key: string, before: Date): Promise<boolean> {
    if (!(await this.storedBefore(key, before))) return false;
    await this.delete(key);
    return true;
  }

  /** A put renames its finished file into place: the file's time is when its bytes were stored. */
  private async storedBefore(key: string, before: Date): Promise<boolean> {
    const info = await stat(this.pathOf(key)).catch(() => null);
    return !!info && info.mtime < before;
  }

  private pathOf(key: string): string {
    if (!SAFE_KEY.test(key)) throw new Error(`Invalid media key: ${key}`);
    return join(this.dir, key);
  }
}
