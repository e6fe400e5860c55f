import { type BackoffPolicy, backoffDelay } from '@app/common';

/** A delivery's retry schedule: the shared backoff (WEBHOOK_RETRY_BASE_MS up to a cap) within a window. */
export interface RetryWindowPolicy extends BackoffPolicy {
  /** A delivery is given up (`failed`) once its next attempt would fall later than this after the first one. */
  windowMs: number;
}

/** When to try again after `attempts` failed attempts, or null when the retry window is used up. */
export function nextAttemptAt(
  attempts: number,
  windowStart: Date,
  now: Date,
  policy: RetryWindowPolicy,
  random: () => number = Math.random,
): Date | null {
  const at = new Date(now.getTime() + backoffDelay(attempts, policy, random));
  return at.getTime() - windowStart.getTime() > policy.windowMs ? null : at;
}
