import type { Logger } from '@nestjs/common';

/**
 * Releases the claims a previous run of this instance (same instance id) left in flight, cut off
 * by a crash, so they are due now instead of after their lease. Call it once per process, before
 * the first claim: a later pass would take this run's own work in flight. A failure is logged and
 * swallowed; those claims then wait out their lease as before.
 */
export function releasePreviousRunClaims(
  release: () => Promise<number>,
  log: Pick<Logger, 'log' | 'warn'>,
  instanceId: string,
  what: string,
): Promise<void> {
  return release().then(
    (released) => {
      if (released)
        log.log(
          { released, instanceId },
          `Released ${what} a previous run of this instance left in flight`,
        );
    },
    (err: unknown) =>
      log.warn(
        { err, instanceId },
        `Could not release the ${what} this instance left in flight; they wait until their claim expires`,
      ),
  );
}
