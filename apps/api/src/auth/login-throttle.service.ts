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

/**
 * LOGIN_MAX_FAILURES failures for one email within the window → locked until the oldest expires.
 * Each attempt is recorded as a failure before its password is checked, so concurrent attempts
 * cannot all pass the check: only the first LOGIN_MAX_FAILURES of a burst are checked.
 */
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

  /**
   * Reserves this attempt as a failure (it stays one unless the login succeeds). Throws 429 when
   * LOGIN_MAX_FAILURES failures came before it within the window; the refused attempt is not kept.
   */
  async reserve(email: string, now = new Date()): Promise<void> {
    const id = await this.failures.record(email, now, new Date(now.getTime() + this.windowMs));
    const since = new Date(now.getTime() - this.windowMs);
    const upToThis = await this.failures.upTo(email, id, since, this.maxFailures + 1);
    if (upToThis.length <= this.maxFailures) return;
    await this.failures.remove(id);
    const oldestBefore = upToThis[this.maxFailures];
    const retryAfterMs = oldestBefore.getTime() + this.windowMs - now.getTime();
    throw new TooManyLoginAttemptsError(Math.max(1, Math.ceil(retryAfterMs / 1000)));
  }

  /** The login succeeded: its reservation and the earlier failures are forgotten. */
  recordSuccess(email: string): Promise<void> {
    return this.failures.clear(email);
  }
}
