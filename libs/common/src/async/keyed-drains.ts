/**
 * Per-key background work, as the outboxes of a session do it: at most one drain per key at a time,
 * a kick while the key's drain runs runs it once more right after (work that arrived mid-drain is
 * never left waiting), kicks at a later time (a retry's backoff), an optional sweep on a timer as
 * a safety net, and a stop that lets the drains under way finish and starts no more.
 */
export class KeyedDrains {
  private readonly running = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private timer?: NodeJS.Timeout;
  private readonly delayed = new Set<NodeJS.Timeout>();
  private halted = false;

  constructor(
    private readonly drain: (key: string) => Promise<void>,
    private readonly onError: (err: unknown, key: string) => void,
  ) {}

  /** True once stop() was called: drains should end their loop. */
  get stopped(): boolean {
    return this.halted;
  }

  kick(key: string): void {
    if (this.halted) return;
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

  /**
   * kick(key) in `ms` (the timer does not keep the process alive; stop() cancels it). A retry
   * waits its own backoff, not the next sweep: the sweep stays the safety net.
   */
  kickAfter(key: string, ms: number): void {
    this.kickAt(key, Date.now() + ms);
  }

  /**
   * A timer can fire before Date.now() reaches its time (it counts from the event loop's cached
   * clock, behind by however long the loop was busy): work due by Date.now() would not be due yet
   * then, so an early timer waits out the rest.
   */
  private kickAt(key: string, at: number): void {
    if (this.halted) return;
    const timer = setTimeout(
      () => {
        this.delayed.delete(timer);
        if (Date.now() < at) this.kickAt(key, at);
        else this.kick(key);
      },
      Math.max(0, at - Date.now()),
    );
    timer.unref();
    this.delayed.add(timer);
  }

  /** Runs `sweep` every `intervalMs` until stop() (the timer does not keep the process alive). */
  sweepEvery(intervalMs: number, sweep: () => Promise<void>): void {
    clearInterval(this.timer);
    this.timer = setInterval(() => void sweep(), intervalMs);
    this.timer.unref();
  }

  /** No more kicks or sweeps; resolves once the drains under way have finished. */
  async stop(): Promise<void> {
    this.halted = true;
    clearInterval(this.timer);
    for (const timer of this.delayed) clearTimeout(timer);
    this.delayed.clear();
    await this.settled();
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
