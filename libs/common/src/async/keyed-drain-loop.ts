/**
 * Per key, one loop at a time that runs while `take` hands it work: the serial core of the keyed
 * queues (KeyedBatchQueue, KeyedCoalescingQueue), so a key's work runs in the order it came.
 * `start(key)`, after adding work, begins the key's loop unless one runs; it begins on a later
 * tick, so a synchronous burst lands in one `take`. `run` must not throw (a throw is swallowed:
 * the loop goes on).
 */
export class KeyedDrainLoop<W> {
  private readonly running = new Map<string, Promise<void>>();

  constructor(
    /** The key's next work, taken out of what waits; undefined when nothing waits. */
    private readonly take: (key: string) => W | undefined,
    private readonly run: (key: string, work: W) => Promise<void>,
  ) {}

  start(key: string): void {
    if (!this.running.has(key)) this.running.set(key, this.loop(key));
  }

  /** Resolves once the key's loop has ended: the work added so far, and any added meanwhile. */
  async settled(key: string): Promise<void> {
    await this.running.get(key);
  }

  /** Resolves once every key's loop has ended. */
  async idle(): Promise<void> {
    while (this.running.size) await Promise.allSettled([...this.running.values()]);
  }

  private async loop(key: string): Promise<void> {
    await Promise.resolve();
    for (;;) {
      const work = this.take(key);
      if (work === undefined) {
        // In the same tick as the take that found nothing: work added after it starts a new loop.
        this.running.delete(key);
        return;
      }
      await this.run(key, work).catch(() => undefined);
    }
  }
}
