import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig, DomainError } from '@app/common';
import { LoginFailuresRepository } from './login-failures.repository';

export class TooManyLoginAttemptsError extends DomainError {
  constructor(readonly retryAfterSeconds: number) {
    super(
      'TOO_MANY_LOGIN_ATTEMPTS',
      'Too many failed login attempts for this account; try again later',
      429,
      { retryAfterSeconds },
    );
    this.headers = { 'Retry-After': String(retryAfterSeconds) };
  }
}

/** More than LOGIN_MAX_FAILURES failures for one email within the window → locked until the oldest expires. */
@Injectable()
export class LoginThrottleService {
  private readonly windowMs: number;
  private readonly maxFailures: number;

  constructor(
    private readonly failures: LoginFailuresRepository,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.windowMs = config.LOGIN_FAILURE_WINDOW_SECONDS * 1000;
    this.maxFailures = config.LOGIN_MAX_FAILURES;
  }

  async assertAllowed(email: string, now = new Date()): Promise<void> {
    const recent = await this.failures.recent(
      email,
      new Date(now.getTime() - this.windowMs),
      this.maxFailures,
    );
    if (recent.length < this.maxFailures) return;
    const oldestCounted = recent[recent.length - 1];
    const retryAfterMs = oldestCounted.getTime() + this.windowMs - now.getTime();
    throw new TooManyLoginAttemptsError(Math.max(1, Math.ceil(retryAfterMs / 1000)));
  }

  recordFailure(email: string, now = new Date()): Promise<void> {
    return this.failures.record(email, now, new Date(now.getTime() + this.windowMs));
  }

  recordSuccess(email: string): Promise<void> {
    return this.failures.clear(email);
  }
}
