export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
}

/** ±20 % jitter so many sessions dropped together do not reconnect in lockstep. */
export const BACKOFF_JITTER = 0.2;

/** Delay before reconnect attempt `attempt` (1-based): base·2^(attempt-1), jittered, never above cap. */
export function backoffDelay(
  attempt: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const exponential = policy.baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30);
  const jittered =
    Math.min(policy.capMs, exponential) * (1 - BACKOFF_JITTER + 2 * BACKOFF_JITTER * random());
  return Math.round(Math.min(policy.capMs, jittered));
}
