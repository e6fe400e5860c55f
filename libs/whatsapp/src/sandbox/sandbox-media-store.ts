import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Bytes of sandbox media by key, oldest evicted past a byte budget: in memory, or as files in `dir`
 * (DATA_DIR), where they outlive a restart as media on WhatsApp's servers outlive the client (a
 * download cut off by a restart is tried again after it, and must find its bytes).
 */
export class SandboxMediaStore {
  /** Key → size, oldest first. */
  private readonly sizes = new Map<string, number>();
  private readonly memory = new Map<string, Buffer>();
  private bytes = 0;

  constructor(
    private readonly maxBytes = 64 * 1024 * 1024,
    private readonly dir?: string,
  ) {
    if (!dir) return;
    mkdirSync(dir, { recursive: true });
    // A previous run's files count against the budget, oldest first.
    const files = readdirSync(dir)
      .map((key) => ({ key, stat: statSync(join(dir, key)) }))
      .sort((a, b) => a.stat.mtimeMs - b.stat.mtimeMs);
    for (const { key, stat } of files) this.track(key, stat.size);
    this.evict();
  }

  put(data: Buffer): string {
    const key = `sbx-media-${randomUUID()}`;
    if (this.dir) writeFileSync(join(this.dir, key), data);
    else this.memory.set(key, Buffer.from(data));
    this.track(key, data.length);
    this.evict(key);
    return key;
  }

  get(key: string): Buffer | undefined {
    if (!this.sizes.has(key)) return undefined;
    if (!this.dir) return Buffer.from(this.memory.get(key)!);
    return readFileSync(join(this.dir, key));
  }

  private track(key: string, size: number): void {
    this.sizes.set(key, size);
    this.bytes += size;
  }

  private evict(keep?: string): void {
    for (const [key, size] of this.sizes) {
      if (this.bytes <= this.maxBytes || key === keep) break;
      this.sizes.delete(key);
      this.memory.delete(key);
      if (this.dir) rmSync(join(this.dir, key), { force: true });
      this.bytes -= size;
    }
  }
}
