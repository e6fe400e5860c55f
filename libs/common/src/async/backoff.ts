export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
}

/** ±20 % jitter, so many failures at once (a network blip) do not retry in lockstep. */
export const BACKOFF_JITTER = 0.2;

/**
 * Delay before retry `attempt` (1-based): base·2^(attempt-1), jittered, never above the cap.
 * Factor 2 with ±20 % keeps the delays strictly increasing until they reach the cap.
 */
export function backoffDelay(
  attempt: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const exponential = policy.baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 40);
  const jittered =
    Math.min(policy.capMs, exponential) * (1 - BACKOFF_JITTER + 2 * BACKOFF_JITTER * random());
  return Math.max(1, Math.round(Math.min(policy.capMs, jittered)));
}
