import type { Connection, Model } from 'mongoose';
import { useEmbeddedConnection } from '@app/embedded-mongo/testing/embedded-connection';
import { EventOutboxService, type EventSubscriber, type LiveBatch } from './event-outbox.service';
import { EventSequencesRepository } from './event-sequences.repository';
import { defaultEventsOptions } from './events.options';
import { EventsRepository } from './events.repository';
import type { NewEvent, StoredEvent } from './events.types';
import { OutboxEvent, OutboxEventSchema } from './schemas/event.schema';

const event = (organizationId: string, text: string): NewEvent => ({
  type: 'message.received',
  organizationId,
  sessionName: 'main',
  occurredAt: new Date(),
  data: { text },
});
const textsOf = (events: StoredEvent[]) => events.map((e) => String(e.data.text));

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(check()).toBe(true);
}

describe('EventOutboxService (embedded store)', () => {
  let connection: Connection;
  let model: Model<OutboxEvent>;
  const connectionOf = useEmbeddedConnection('outbox');
  beforeAll(async () => {
    connection = connectionOf();
    model = connection.model<OutboxEvent>(OutboxEvent.name, OutboxEventSchema);
    await model.init();
  });

  /** One gateway process: the outbox over the shared database, with its subscriber. */
  const boot = async (subscriber: EventSubscriber) => {
    const outbox = new EventOutboxService(
      new EventsRepository(model),
      new EventSequencesRepository(connection),
      { ...defaultEventsOptions(), fanoutRecoveryIntervalMs: 60_000 },
    );
    outbox.registerSubscriber(subscriber);
    await outbox.onModuleInit();
    return outbox;
  };
  const ledger = async (organizationId: string) =>
    (await new EventSequencesRepository(connection).stale(new Date(Date.now() + 1_000)))
      .filter((range) => range.organizationId === organizationId)
      .map(({ first, last }) => ({ first, last }));

  /** A process that stored the events and crashed before their fan-out: they stay in the ledger. */
  const crashedAfterStoring = async (organizationId: string, texts: string[]) => {
    const crashed = await boot(() => Promise.reject(new Error('crash before the deliveries')));
    for (const text of texts) await crashed.append(event(organizationId, text));
    await crashed.beforeApplicationShutdown();
  };

  it('fans out what a previous process left in the ledger before any live event of the new one', async () => {
    const org = 'org-boot-order';
    await crashedAfterStoring(org, ['left behind 1', 'left behind 2']);
    expect(await ledger(org)).toEqual([
      { first: 1, last: 1 },
      { first: 2, last: 2 },
    ]);

    const seen: string[] = [];
    let releaseRecovery!: () => void;
    const recoveryHeld = new Promise<void>((resolve) => (releaseRecovery = resolve));
    const restarted = await boot(async (events) => {
      // The recovery is slow: its first batch is still running when a live event is stored.
      if (textsOf(events).includes('left behind 1')) await recoveryHeld;
      seen.push(...textsOf(events));
    });
    const live = await restarted.append(event(org, 'live after the restart'));
    expect(live?.seq).toBe(3);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seen).toEqual([]); // stored and acknowledged; its fan-out waits for the recovery
    releaseRecovery();
    await until(() => seen.length === 3);
    expect(seen).toEqual(['left behind 1', 'left behind 2', 'live after the restart']);
    await restarted.beforeApplicationShutdown();
    expect(await ledger(org)).toEqual([]);
  });

  it('a shutdown during the boot pass leaves the live batches behind the unrecovered ones, for the next boot', async () => {
    const org = 'org-cut-short';
    await crashedAfterStoring(org, ['left behind 1', 'left behind 2']);
    let releaseRecovery!: () => void;
    const recoveryHeld = new Promise<void>((resolve) => (releaseRecovery = resolve));
    const seen: string[] = [];
    const cut = await boot(async (events) => {
      if (textsOf(events).includes('left behind 1')) await recoveryHeld;
      seen.push(...textsOf(events));
    });
    await cut.append(event(org, 'live during the boot pass'));
    const stopping = cut.beforeApplicationShutdown();
    releaseRecovery();
    await stopping;
    expect(seen).toEqual(['left behind 1']);
    expect(await ledger(org)).toEqual([
      { first: 2, last: 2 },
      { first: 3, last: 3 },
    ]);

    const next: string[] = [];
    const nextBoot = await boot(async (events) => void next.push(...textsOf(events)));
    await until(() => next.length === 2);
    expect(next).toEqual(['left behind 2', 'live during the boot pass']);
    await nextBoot.beforeApplicationShutdown();
    expect(await ledger(org)).toEqual([]);
  });

  it('settles a live batch once its subscribers succeeded and keeps a failed one in the ledger', async () => {
    const org = 'org-live';
    const seen: string[] = [];
    const outbox = await boot(async (events) => {
      const own = events.filter((e) => e.organizationId === org);
      if (textsOf(own).includes('refused')) throw new Error('fan-out failed');
      seen.push(...textsOf(own));
    });
    await outbox.append(event(org, 'fanned out'));
    const refused = await outbox.append(event(org, 'refused'));
    await outbox.beforeApplicationShutdown();
    expect(seen).toEqual(['fanned out']);
    expect(await ledger(org)).toEqual([{ first: refused!.seq, last: refused!.seq }]);
  });

  it('tries a live fan-out again before later events go out, so a passing error keeps the order', async () => {
    const org = 'org-passing-error';
    const seen: string[] = [];
    let failures = 1;
    const outbox = await boot(async (events) => {
      const own = events.filter((e) => e.organizationId === org);
      if (!own.length) return;
      if (failures > 0) {
        failures -= 1;
        throw new Error('not writable primary');
      }
      seen.push(...textsOf(own));
    });
    await outbox.append(event(org, 'first'));
    await outbox.append(event(org, 'second'));
    await outbox.beforeApplicationShutdown();
    expect(failures).toBe(0);
    expect(seen).toEqual(['first', 'second']);
    expect(await ledger(org)).toEqual([]);
  });

  it('stores the next batch while a batch fans out, one batch ahead at most, fan-outs in order', async () => {
    const org = 'org-pipelined';
    const seen: string[] = [];
    let releaseFirst!: () => void;
    const firstHeld = new Promise<void>((resolve) => (releaseFirst = resolve));
    const outbox = await boot(async (events) => {
      const own = textsOf(events.filter((e) => e.organizationId === org));
      if (own.includes('first')) await firstHeld; // slow subscribers (webhook deliveries)
      seen.push(...own);
    });
    const waited = (ms: number) =>
      new Promise<'waiting'>((r) => setTimeout(() => r('waiting'), ms));
    try {
      await outbox.append(event(org, 'first'));
      const second = await Promise.race([outbox.append(event(org, 'second')), waited(1_000)]);
      expect(second).toMatchObject({ seq: 2 });
      // The second batch's fan-out waits for the first's: the third batch waits to be stored.
      const third = outbox.append(event(org, 'third'));
      expect(await Promise.race([third, waited(100)])).toBe('waiting');
      expect(seen).toEqual([]);
      releaseFirst();
      expect(await third).toMatchObject({ seq: 3 });
    } finally {
      releaseFirst();
      await outbox.beforeApplicationShutdown();
    }
    expect(seen).toEqual(['first', 'second', 'third']);
    expect(await ledger(org)).toEqual([]);
  });

  it('hands a live batch the subscriptions version its reservation saw, new after every change', async () => {
    const org = 'org-subscriptions';
    const seen: Array<LiveBatch | undefined> = [];
    const outbox = await boot(async (events, live) => {
      if (events.some((e) => e.organizationId === org)) seen.push(live);
    });
    const other = await boot(async () => undefined); // another instance, writing a webhook
    await outbox.append(event(org, 'before any change'));
    await other.changeSubscriptions(org);
    await outbox.append(event(org, 'after a change on the other instance'));
    await outbox.append(event(org, 'nothing changed since'));
    await Promise.all([outbox.beforeApplicationShutdown(), other.beforeApplicationShutdown()]);
    expect(seen).toEqual([
      { organizationId: org, subscriptionsVersion: null },
      { organizationId: org, subscriptionsVersion: expect.any(String) },
      { organizationId: org, subscriptionsVersion: seen[1]?.subscriptionsVersion },
    ]);
  });

  it('refuses a subscriber registered after the boot recovery started (it would miss it)', async () => {
    const outbox = await boot(async () => undefined);
    expect(() => outbox.registerSubscriber(async () => undefined)).toThrow(/constructor/);
    await outbox.beforeApplicationShutdown();
  });
});
