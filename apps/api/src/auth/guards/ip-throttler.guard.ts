import { type ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard, type ThrottlerLimitDetail } from '@nestjs/throttler';
import { DomainError } from '@app/common';
import { PER_ADDRESS_LIMIT } from './limit-per-address.decorator';

export class TooManyRequestsError extends DomainError {
  constructor(readonly retryAfterSeconds: number) {
    super('TOO_MANY_REQUESTS', 'Too many requests from this address; try again later', 429, {
      retryAfterSeconds,
    });
    this.headers = { 'Retry-After': String(retryAfterSeconds) };
  }
}

/** The per-address limit (@LimitPerAddress routes), refusing in the API's error shape with a code. */
@Injectable()
export class IpThrottlerGuard extends ThrottlerGuard {
  protected async shouldSkip(context: ExecutionContext): Promise<boolean> {
    const limited = this.reflector.getAllAndOverride<boolean>(PER_ADDRESS_LIMIT, [
      context.getHandler(),
      context.getClass(),
    ]);
    return !limited;
  }

  protected async throwThrottlingException(
    _context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    throw new TooManyRequestsError(Math.max(1, detail.timeToBlockExpire || detail.timeToExpire));
  }
}
