import type { DeliveryResponseDto, WebhookResponseDto } from './dto/webhook.dto';
import type { DeliveryRecord } from './webhook-deliveries.repository';
import type { WebhookRecord } from './webhooks.repository';

const defined = <T extends object>(value: T): T =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== null)) as T;

/** Never includes the secret. */
export function toWebhookDto(w: WebhookRecord): WebhookResponseDto {
  return defined({
    id: String(w._id),
    url: w.url,
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
