import type { StoredEvent } from '../events/events.types';
import type { WebhookRecord } from './webhooks.repository';

/** Milliseconds encoded in an event id (see EventIdGenerator). */
export const eventTimeMs = (eventId: string) =>
  parseInt(eventId.slice(0, 8), 16) * 1000 + (parseInt(eventId.slice(8, 12), 16) % 1000);

/**
 * Whether `hook` subscribes to `event`: enabled, type listed (or '*'), session matches, and it
 * existed when the event happened (fan-out recovery runs later). The latter is read on the
 * organization's event sequence, as events of every instance share it; an instance's clock may
 * run behind the one that created the webhook. Event ids' times decide only for rows without one.
 */
export function webhookWants(
  hook: Pick<WebhookRecord, 'enabled' | 'events' | 'sessionName' | 'createdAt' | 'sinceSeq'>,
  event: StoredEvent,
): boolean {
  if (!hook.enabled) return false;
  if (!hook.events.includes('*') && !hook.events.includes(event.type)) return false;
  if (hook.sessionName && hook.sessionName !== event.sessionName) return false;
  if (hook.sinceSeq !== undefined && event.seq !== undefined) return event.seq > hook.sinceSeq;
  return !hook.createdAt || new Date(hook.createdAt).getTime() <= eventTimeMs(event.id) + 1;
}
