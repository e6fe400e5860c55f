import type { AppConfig } from '@app/common';
import { AllowList, type Resolver, SecretBox, systemResolver } from '@app/common';
import { resolveJwtSecret } from '../auth/jwt-secret';

const HOUR = 3_600_000;

/** Tunables of webhook delivery; built from the config (e2e tests may lower some on the instance). */
export interface WebhookOptions {
  allowList: AllowList;
  /** Seals signing secrets at rest (SECRETS_KEY, else derived from the JWT secret). */
  secrets: SecretBox;
  resolver: Resolver;
  /** First retry delay (WEBHOOK_RETRY_BASE_MS); doubles per attempt with ±20 % jitter. */
  retryBaseMs: number;
  maxRetryDelayMs: number;
  /** A delivery is `failed` once its next attempt would be later than this after its first. */
  retryWindowMs: number;
  /** A webhook failing without a single success for this long is disabled. */
  disableAfterMs: number;
  timeoutMs: number;
  pollIntervalMs: number;
  /**
   * A claimed delivery whose worker died is retried after this; one left by this instance's own
   * previous run (same instance id) at once when it boots again.
   */
  leaseMs: number;
  /** Lanes (webhook × session) delivering at once on this instance. */
  maxConcurrentLanes: number;
  /**
   * Of those, at most this many of one organization (WEBHOOK_CONCURRENCY_PER_ORG): an attempt may
   * hold its slot for timeoutMs, so without it one tenant's unanswering receivers took every slot.
   */
  maxConcurrentLanesPerOrganization: number;
  maxWebhooksPerOrganization: number;
}

export const WEBHOOK_OPTIONS = Symbol('WEBHOOK_OPTIONS');

export function webhookOptionsFrom(config: AppConfig): WebhookOptions {
  return {
    allowList: new AllowList(config.WEBHOOK_ALLOWED_HOSTS),
    secrets: new SecretBox(config.SECRETS_KEY ?? resolveJwtSecret(config), 'webhook-secrets'),
    resolver: systemResolver,
    retryBaseMs: config.WEBHOOK_RETRY_BASE_MS,
    maxRetryDelayMs: HOUR,
    retryWindowMs: 24 * HOUR,
    disableAfterMs: 24 * HOUR,
    timeoutMs: 10_000,
    pollIntervalMs: 5_000,
    leaseMs: 30_000,
    maxConcurrentLanes: 32,
    maxConcurrentLanesPerOrganization: config.WEBHOOK_CONCURRENCY_PER_ORG,
    maxWebhooksPerOrganization: 25,
  };
}
