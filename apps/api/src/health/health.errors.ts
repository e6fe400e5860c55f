import { DomainError } from '@app/common';
import type { HealthIndicatorResult } from '@nestjs/terminus';

/** A health indicator is down; `details` has every indicator with its status, as terminus gives it. */
export class NotReadyError extends DomainError {
  constructor(details: HealthIndicatorResult) {
    const down = Object.keys(details).filter((name) => details[name].status !== 'up');
    super(
      'NOT_READY',
      down.length
        ? `Not ready: ${down.join(', ')} ${down.length === 1 ? 'is' : 'are'} down`
        : 'Not ready: shutting down',
      503,
      details,
    );
  }
}
