/**
 * Spaces sends of one session: `perMinute` sends per minute on average, ±20 % jitter so the
 * rhythm does not look automated. perMinute 0 = unlimited.
 */
export class SendRateLimiter {
  private readonly nextAllowed = new Map<string, number>();

  constructor(
    private readonly perMinute: number,
    private readonly random: () => number = Math.random,
  ) {}

  /** Milliseconds to wait before the next send of this session. */
  delayFor(sessionId: string, now = Date.now()): number {
    if (this.perMinute <= 0) return 0;
    return Math.max(0, (this.nextAllowed.get(sessionId) ?? 0) - now);
  }

  recordSend(sessionId: string, now = Date.now()): void {
    if (this.perMinute <= 0) return;
    const spacing = 60_000 / this.perMinute;
    const jitter = 0.8 + this.random() * 0.4;
    this.nextAllowed.set(sessionId, now + spacing * jitter);
  }

  forget(sessionId: string): void {
    this.nextAllowed.delete(sessionId);
  }
}
