import type { StoredEvent } from '../events/events.types';
import type { WebhookRecord } from './webhooks.repository';

/** Milliseconds encoded in an event id (see EventIdGenerator). */
export const eventTimeMs = (eventId: string) =>
  parseInt(eventId.slice(0, 8), 16) * 1000 + (parseInt(eventId.slice(8, 12), 16) % 1000);

/** Whether `hook` subscribes to `event`: enabled, type listed (or '*'), session matches, and it existed when the event happened. */
export function webhookWants(
  hook: Pick<WebhookRecord, 'enabled' | 'events' | 'sessionName' | 'createdAt'>,
  event: StoredEvent,
): boolean {
  if (!hook.enabled) return false;
  if (!hook.events.includes('*') && !hook.events.includes(event.type)) return false;
  if (hook.sessionName && hook.sessionName !== event.sessionName) return false;
  // Fan-out recovery runs later: a webhook created after the event does not get it.
  return !hook.createdAt || new Date(hook.createdAt).getTime() <= eventTimeMs(event.id) + 1;
}
