import { type ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard, type ThrottlerLimitDetail } from '@nestjs/throttler';
import { DomainError } from '@app/common';

export class TooManyRequestsError extends DomainError {
  constructor(readonly retryAfterSeconds: number) {
    super('TOO_MANY_REQUESTS', 'Too many requests from this address; try again later', 429, {
      retryAfterSeconds,
    });
    this.headers = { 'Retry-After': String(retryAfterSeconds) };
  }
}

/** The per-address limit (@Throttle routes), refusing in the API's error shape with a code. */
@Injectable()
export class IpThrottlerGuard extends ThrottlerGuard {
  protected async throwThrottlingException(
    _context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    throw new TooManyRequestsError(Math.max(1, detail.timeToBlockExpire || detail.timeToExpire));
  }
}
