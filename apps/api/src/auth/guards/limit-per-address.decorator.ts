import { applyDecorators, SetMetadata } from '@nestjs/common';
import { Throttle } from '@nestjs/throttler';

export const PER_ADDRESS_LIMIT = 'auth:perAddressLimit';

/**
 * At most `limit` requests per client address and instance within `ttlMs` (429 TOO_MANY_REQUESTS
 * with Retry-After). Routes without it are not counted: no throttler record per request and no
 * X-RateLimit headers announcing a limit nobody enforces.
 */
export const LimitPerAddress = (limit: number, ttlMs: number) =>
  applyDecorators(
    SetMetadata(PER_ADDRESS_LIMIT, true),
    Throttle({ default: { limit, ttl: ttlMs } }),
  );
