import mongoose from 'mongoose';
import { useEmbeddedConnection } from '@app/embedded-mongo/testing/embedded-connection';
import { EventSequencesRepository } from './event-sequences.repository';

describe('EventSequencesRepository (embedded store)', () => {
  let connection: mongoose.Connection;

  const connectionOf = useEmbeddedConnection('sequences');
  beforeAll(() => {
    connection = connectionOf();
  });

  it('never hands out a number twice, also to two instances reserving at once', async () => {
    // Each instance reserves one batch at a time per organization (as its outbox queue does).
    const instance = async (repository: EventSequencesRepository, batches: number[]) => {
      const taken: Array<{ first: number; count: number }> = [];
      for (const count of batches)
        taken.push({ first: (await repository.reserve('org-race', count)).first, count });
      return taken;
    };
    const sizes = Array.from({ length: 20 }, (_, i) => 1 + (i % 3));
    const reservations = (
      await Promise.all([
        instance(new EventSequencesRepository(connection), sizes),
        instance(new EventSequencesRepository(connection), sizes),
      ])
    ).flat();
    const numbers = reservations.flatMap(({ first, count }) =>
      Array.from({ length: count }, (_, k) => first + k),
    );
    const total = reservations.reduce((n, r) => n + r.count, 0);
    expect(new Set(numbers).size).toBe(total);
    expect(Math.min(...numbers)).toBe(1);
    expect(Math.max(...numbers)).toBe(total);
    expect(await new EventSequencesRepository(connection).current('org-race')).toBe(total);
  });

  it('keeps reserved ranges in the ledger until settled; stale ones are listed', async () => {
    const repository = new EventSequencesRepository(connection);
    const { first } = await repository.reserve('org-ledger', 3);
    const { first: second } = await repository.reserve('org-ledger', 2);
    expect([first, second]).toEqual([1, 4]);
    const later = new Date(Date.now() + 1_000);
    expect(await repository.stale(new Date(0))).toEqual([]);
    expect(
      (await repository.stale(later)).filter((r) => r.organizationId === 'org-ledger'),
    ).toEqual([
      { organizationId: 'org-ledger', first: 1, last: 3, at: expect.any(Date) },
      { organizationId: 'org-ledger', first: 4, last: 5, at: expect.any(Date) },
    ]);
    await repository.settle('org-ledger', 1);
    await repository.settle('org-ledger', 4);
    expect(
      (await repository.stale(later)).filter((r) => r.organizationId === 'org-ledger'),
    ).toEqual([]);
  });

  it('hands each reservation the subscriptions version as of it, changed by every change before it', async () => {
    const repository = new EventSequencesRepository(connection);
    const other = new EventSequencesRepository(connection); // another instance
    // A change before the organization's first event creates its row; the reservation keeps it.
    await other.changeSubscriptionsVersion('org-subs');
    const first = await repository.reserve('org-subs', 1);
    expect(first).toEqual({ first: 1, subscriptionsVersion: expect.any(String) });
    expect((await repository.reserve('org-subs', 2)).subscriptionsVersion).toBe(
      first.subscriptionsVersion,
    );
    await other.changeSubscriptionsVersion('org-subs');
    const changed = await repository.reserve('org-subs', 1);
    expect(changed.first).toBe(4);
    expect(changed.subscriptionsVersion).not.toBe(first.subscriptionsVersion);
    expect((await repository.reserve('org-subs-none', 1)).subscriptionsVersion).toBeNull();
  });
});
