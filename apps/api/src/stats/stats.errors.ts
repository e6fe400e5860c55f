import { BadRequestError } from '@app/common';

/** `since`/`until` are reversed, or their window, widened to whole buckets, spans more than the granularity allows. */
export class StatsRangeError extends BadRequestError {
  constructor(
    code: 'STATS_RANGE_INVALID' | 'STATS_RANGE_TOO_LARGE',
    message: string,
    details?: unknown,
  ) {
    super(code, message, details);
  }
}
