import { EventIdGenerator } from '../events/event-id';
import type { StoredEvent } from '../events/events.types';
import { eventTimeMs, webhookWants } from './webhook-matching';

describe('webhookWants', () => {
  const ids = new EventIdGenerator(() => Date.parse('2026-01-01T10:00:00.123Z'));
  const event = (type: StoredEvent['type'], sessionName = 'main'): StoredEvent => ({
    id: ids.next(),
    type,
    organizationId: 'org',
    sessionName,
    occurredAt: new Date(),
    data: {},
  });
  const hook = {
    enabled: true,
    events: ['*'],
    sessionName: undefined as string | undefined,
    createdAt: new Date('2026-01-01T09:00:00Z'),
  };

  it('matches types, wildcard, session filter and enabled', () => {
    expect(webhookWants(hook, event('message.received'))).toBe(true);
    expect(webhookWants({ ...hook, events: ['message.status'] }, event('message.received'))).toBe(
      false,
    );
    expect(
      webhookWants(
        { ...hook, events: ['message.status', 'message.received'] },
        event('message.received'),
      ),
    ).toBe(true);
    expect(webhookWants({ ...hook, sessionName: 'other' }, event('message.received'))).toBe(false);
    expect(webhookWants({ ...hook, sessionName: 'main' }, event('message.received'))).toBe(true);
    expect(webhookWants({ ...hook, enabled: false }, event('message.received'))).toBe(false);
  });

  it("reads whether the webhook existed on the event sequence, not on the instances' clocks", () => {
    // Created on an instance whose clock runs ahead, after the event numbered 41.
    const skewed = { ...hook, createdAt: new Date('2026-01-01T10:01:00Z'), sinceSeq: 41 };
    expect(webhookWants(skewed, { ...event('message.received'), seq: 42 })).toBe(true);
    expect(webhookWants(skewed, { ...event('message.received'), seq: 41 })).toBe(false);
    // Before its creation, although the clock of the event's instance runs ahead.
    const early = { ...hook, createdAt: new Date('2026-01-01T09:00:00Z'), sinceSeq: 41 };
    expect(webhookWants(early, { ...event('message.received'), seq: 40 })).toBe(false);
    // An event stored without a number (before the sequence existed): its id's time decides.
    expect(webhookWants(skewed, event('message.received'))).toBe(false);
    expect(webhookWants(early, event('message.received'))).toBe(true);
  });

  it('skips events older than the webhook (fan-out recovery)', () => {
    const e = event('session.status');
    expect(eventTimeMs(e.id)).toBe(Date.parse('2026-01-01T10:00:00.123Z'));
    expect(webhookWants({ ...hook, createdAt: new Date('2026-01-01T10:00:01Z') }, e)).toBe(false);
  });
});
