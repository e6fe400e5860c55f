export interface LaneLimits {
  /** Lanes running at once on this instance. */
  total: number;
  /** Lanes of one organization running at once, so one tenant cannot take every slot. */
  perOrganization: number;
}

/**
 * Decides which webhook lanes run, so that one organization's slow receivers cannot hold up the
 * others' deliveries:
 * - a lane runs at most once at a time; submitting a running lane runs it once more after it ends
 *   (at the back of its organization's queue), so a lane's rows are still walked by one worker;
 * - at most `total` lanes run, at most `perOrganization` of them for one organization;
 * - waiting lanes are admitted round-robin by organization: next is the organization whose last
 *   admission is the oldest (one that had nothing running or waiting counts as never served; one
 *   at its cap is passed over), each organization's lanes in arrival order. An organization waiting
 *   is therefore served before any other is served twice.
 *
 * The limits are read at every admission, so a change applies from the next one on.
 */
export class WebhookLaneScheduler<L extends { organizationId: string }> {
  private readonly running = new Map<string, Promise<void>>();
  private readonly runningPerOrganization = new Map<string, number>();
  private readonly again = new Set<string>();
  /** Organization → its waiting lanes by key, in arrival order. */
  private readonly waiting = new Map<string, Map<string, L>>();
  /** Organization → the number of its last admission, while it has lanes running or waiting. */
  private readonly lastServed = new Map<string, number>();
  private admissions = 0;
  private halted = false;

  constructor(
    private readonly limits: () => LaneLimits,
    /** Runs a lane; the returned promise must settle once the lane gives its slot back. */
    private readonly run: (lane: L) => Promise<void>,
    private readonly onError: (err: unknown, key: string) => void,
  ) {}

  /** Runs the lane when a slot of its organization is free, or once more after its current run. */
  submit(key: string, lane: L): void {
    if (this.halted) return;
    if (this.running.has(key)) this.again.add(key);
    else this.enqueue(key, lane);
    this.admit();
  }

  /**
   * Organizations with lanes waiting for a slot: they have more work here than they may run, so
   * finding more of their lanes now would only queue them.
   */
  waitingOrganizations(): Set<string> {
    return new Set(this.waiting.keys());
  }

  /** Drops the waiting lanes and starts no more; resolves once the running ones have ended. */
  async stop(): Promise<void> {
    this.halted = true;
    this.waiting.clear();
    this.again.clear();
    this.lastServed.clear();
    await Promise.allSettled([...this.running.values()]);
  }

  private enqueue(key: string, lane: L): void {
    const queue = this.waiting.get(lane.organizationId);
    if (!queue) this.waiting.set(lane.organizationId, new Map([[key, lane]]));
    else if (!queue.has(key)) queue.set(key, lane); // one already waiting keeps its place
  }

  private admit(): void {
    const { total, perOrganization } = this.limits();
    while (!this.halted && this.running.size < total) {
      const organizationId = this.nextOrganization(perOrganization);
      if (organizationId === undefined) return;
      const queue = this.waiting.get(organizationId)!;
      const [key, lane] = queue.entries().next().value as [string, L];
      queue.delete(key);
      if (!queue.size) this.waiting.delete(organizationId);
      this.lastServed.set(organizationId, ++this.admissions);
      this.launch(key, lane);
    }
  }

  /** The organization served longest ago among those waiting and below their cap. */
  private nextOrganization(perOrganization: number): string | undefined {
    let next: string | undefined;
    let nextServed = Infinity;
    for (const organizationId of this.waiting.keys()) {
      if ((this.runningPerOrganization.get(organizationId) ?? 0) >= perOrganization) continue;
      const served = this.lastServed.get(organizationId) ?? 0;
      if (served < nextServed) [next, nextServed] = [organizationId, served];
    }
    return next;
  }

  private launch(key: string, lane: L): void {
    const { organizationId } = lane;
    this.runningPerOrganization.set(
      organizationId,
      (this.runningPerOrganization.get(organizationId) ?? 0) + 1,
    );
    const run = Promise.resolve()
      .then(() => this.run(lane))
      .catch((err: unknown) => this.onError(err, key))
      .finally(() => {
        this.running.delete(key);
        const left = this.runningPerOrganization.get(organizationId)! - 1;
        if (left) this.runningPerOrganization.set(organizationId, left);
        else this.runningPerOrganization.delete(organizationId);
        if (this.again.delete(key) && !this.halted) this.enqueue(key, lane);
        if (!left && !this.waiting.has(organizationId)) this.lastServed.delete(organizationId);
        this.admit();
      });
    this.running.set(key, run);
  }
}
