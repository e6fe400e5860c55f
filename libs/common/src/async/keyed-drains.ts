/**
 * At most one drain per key at a time. A kick while the key's drain runs is remembered and runs
 * the drain once more right after, so work that arrived mid-drain is never left waiting.
 */
export class KeyedDrains {
  private readonly running = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();

  constructor(
    private readonly drain: (key: string) => Promise<void>,
    private readonly onError: (err: unknown, key: string) => void,
  ) {}

  kick(key: string): void {
    if (this.running.has(key)) {
      this.again.add(key);
      return;
    }
    const run = this.drain(key)
      .catch((err: unknown) => this.onError(err, key))
      .finally(() => {
        this.running.delete(key);
        if (this.again.delete(key)) this.kick(key);
      });
    this.running.set(key, run);
  }

  /** Resolves once the key's drain (if any) has finished. */
  async idle(key: string): Promise<void> {
    await this.running.get(key);
  }

  /** Resolves once every drain running now has finished. */
  async settled(): Promise<void> {
    await Promise.allSettled(this.running.values());
  }
}
