/**
 * Retry schedule of a delivery: exponential from the base delay (WEBHOOK_RETRY_BASE_MS), capped per
 * step, with ±20 % jitter. Factor 2 with ±20 % keeps the delays strictly increasing until the cap.
 */
export interface BackoffPolicy {
  baseMs: number;
  maxDelayMs: number;
  /** A delivery is given up (`failed`) once its next attempt would fall later than this after the first one. */
  windowMs: number;
}

export function retryDelayMs(
  attempt: number,
  policy: Pick<BackoffPolicy, 'baseMs' | 'maxDelayMs'>,
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(attempt, 1) - 1, 40);
  const raw = Math.min(policy.baseMs * 2 ** exponent, policy.maxDelayMs);
  return Math.max(1, Math.round(raw * (0.8 + 0.4 * random())));
}

/** When to try again after `attempts` failed attempts, or null when the retry window is used up. */
export function nextAttemptAt(
  attempts: number,
  windowStart: Date,
  now: Date,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): Date | null {
  const at = new Date(now.getTime() + retryDelayMs(attempts, policy, random));
  return at.getTime() - windowStart.getTime() > policy.windowMs ? null : at;
}
