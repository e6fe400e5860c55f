import { randomUUID } from 'node:crypto';

/** Bytes of sandbox media by key, in memory, oldest evicted past a byte budget. */
export class SandboxMediaStore {
  private readonly items = new Map<string, Buffer>();
  private bytes = 0;

  constructor(private readonly maxBytes = 64 * 1024 * 1024) {}

  put(data: Buffer): string {
    const key = `sbx-media-${randomUUID()}`;
    this.items.set(key, Buffer.from(data));
    this.bytes += data.length;
    for (const [oldKey, oldData] of this.items) {
      if (this.bytes <= this.maxBytes || oldKey === key) break;
      this.items.delete(oldKey);
      this.bytes -= oldData.length;
    }
    return key;
  }

  get(key: string): Buffer | undefined {
    const data = this.items.get(key);
    return data ? Buffer.from(data) : undefined;
  }
}
