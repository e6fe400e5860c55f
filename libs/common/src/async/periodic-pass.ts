/**
 * Runs a pass at start and then every `intervalMs`, one at a time: a pass asked for while one runs
 * gets that one. `stop` ends the timer and waits for the pass under way; a pass checks `stopped`
 * between its items to end early. For recoveries that pick up what a crash (of any instance) left.
 */
export class PeriodicPass {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private ended = false;

  constructor(
    private readonly pass: () => Promise<void>,
    private readonly intervalMs: number,
  ) {}

  get stopped(): boolean {
    return this.ended;
  }

  start(): void {
    void this.run();
    this.timer = setInterval(() => void this.run(), this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.ended = true;
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass; resolves when it is done (also when one is running already). */
  run(): Promise<void> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }
}
