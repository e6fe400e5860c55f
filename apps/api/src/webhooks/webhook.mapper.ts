import { WebhookUrlNotAllowedError } from './webhooks.errors';
import type { DeliveryResponseDto, WebhookResponseDto } from './dto/webhook.dto';
import type { DeliveryRecord } from './webhook-deliveries.repository';
import type { WebhookRecord } from './webhooks.repository';

const defined = <T extends object>(value: T): T =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== null)) as T;

/** What a receiver URL's password (`https://user:password@…`, sent as Basic auth) reads as. */
export const MASKED_PASSWORD = '****';

/** The URL as shown: a password in it reads as MASKED_PASSWORD. */
export function maskUrlPassword(url: string): string {
  const parsed = URL.parse(url);
  if (!parsed?.password) return url;
  parsed.password = MASKED_PASSWORD;
  return parsed.href;
}

/**
 * A new URL that carries MASKED_PASSWORD (a client sending back what it read) keeps the stored
 * URL's password, or its lack of one, instead of setting the mask as the password.
 */
export function keepStoredPassword(newUrl: string, storedUrl: string): string {
  const parsed = URL.parse(newUrl);
  if (parsed?.password !== MASKED_PASSWORD) return newUrl;
  const stored = URL.parse(storedUrl);
  // The stored password goes only where it went: the same origin and user.
  if (parsed.origin !== stored?.origin || parsed.username !== stored.username)
    throw new WebhookUrlNotAllowedError(
      'url keeps the stored password (****) only for the same scheme, host, port and user: give the password for the new receiver',
      'masked_password_elsewhere',
    );
  parsed.password = stored.password; // '' when none is stored: the URL stays without one
  return parsed.href;
}

/** Never includes the secret, nor a password in the URL. */
export function toWebhookDto(w: WebhookRecord): WebhookResponseDto {
  return defined({
    id: String(w._id),
    url: maskUrlPassword(w.url),
    events: w.events,
    sessionName: w.sessionName,
    enabled: w.enabled,
    disabledReason: w.disabledReason,
    disabledAt: w.disabledAt,
    failingSince: w.failingSince,
    lastFailureAt: w.lastFailureAt,
    lastError: w.lastError,
    createdAt: w.createdAt,
    updatedAt: w.updatedAt,
  });
}

export function toDeliveryDto(d: DeliveryRecord): DeliveryResponseDto {
  return defined({
    id: String(d._id),
    webhookId: String(d.webhookId),
    eventId: String(d.eventId),
    eventType: d.eventType,
    sessionName: d.sessionName,
    status: d.status,
    attempts: d.attempts,
    lastResponseCode: d.lastResponseCode,
    lastError: d.lastError,
    lastDurationMs: d.lastDurationMs,
    lastAttemptAt: d.lastAttemptAt,
    nextAttemptAt:
      d.status === 'pending' || d.status === 'delivering' ? d.nextAttemptAt : undefined,
    deliveredAt: d.deliveredAt,
    failedAt: d.failedAt,
    createdAt: d.createdAt,
  });
}
