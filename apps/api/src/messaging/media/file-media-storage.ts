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
/** Keys the listing puts in order at a time (the sweep looks at 5,000 a pass). */
const LIST_PAGE = 5_000;

/**
 * The `count` smallest keys among `names` that sort after `after`, in order: one look at the names
 * keeping the smallest so far in a max-heap, instead of putting them all in order (a million
 * names held the event loop for a second or more).
 */
function smallestKeysAfter(names: string[], after: string, count: number): string[] {
  const heap: string[] = []; // heap[0] is the largest kept
  const swap = (i: number, j: number) => ([heap[i], heap[j]] = [heap[j], heap[i]]);
  const siftUp = (i: number) => {
    for (let parent = (i - 1) >> 1; i > 0 && heap[parent] < heap[i]; parent = (i - 1) >> 1) {
      swap(i, parent);
      i = parent;
    }
  };
  const siftDown = (i: number) => {
    for (;;) {
      let largest = i;
      for (const child of [2 * i + 1, 2 * i + 2])
        if (child < heap.length && heap[child] > heap[largest]) largest = child;
      if (largest === i) return;
      swap(i, largest);
      i = largest;
    }
  };
  for (const name of names) {
    if (name <= after || (heap.length === count && name >= heap[0]) || !SAFE_KEY.test(name))
      continue;
    if (heap.length < count) {
      heap.push(name);
      siftUp(heap.length - 1);
    } else {
      heap[0] = name;
      siftDown(0);
    }
  }
  return heap.sort();
}

/**
 * Media as files under DATA_DIR/media, written atomically (temp file + rename) and, when
 * `durable`, flushed to disk before a put resolves: a message the store keeps through a power
 * loss (EMBEDDED_MONGO_FSYNC) then never holds media that was still in the page cache.
 */
export class FileMediaStorage implements MediaStorage {
  constructor(
    private readonly dir: string,
    private readonly durable = true,
    private readonly listPage = LIST_PAGE,
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

  /**
   * Lists the directory whole (names only), then reads the time of each key after `after`, in
   * order a page at a time (temp files of writes under way, or cut off, are no keys).
   */
  async *listStoredBefore(before: Date, after = ''): AsyncIterable<string> {
    const names = await this.names();
    for (let from = after; ;) {
      const page = smallestKeysAfter(names, from, this.listPage);
      for (const key of page) if (await this.storedBefore(key, before)) yield key;
      if (page.length < this.listPage) return;
      from = page[page.length - 1];
    }
  }

  /** Temp files last written before `before` (a write under way renews its file's time), all at once. */
  async deleteUnfinishedBefore(before: Date): Promise<UnfinishedSweep> {
    let deleted = 0;
    for (const name of await this.names()) {
      if (!name.endsWith('.tmp') || !TEMP_FILE.test(name)) continue;
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
