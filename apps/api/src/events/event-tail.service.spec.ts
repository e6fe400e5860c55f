import type { EventsRepository } from './events.repository';
import type { StoredEvent } from './events.types';
import { OrganizationTail } from './event-tail.service';

const event = (seq: number): StoredEvent => ({
  id: `id-${seq}`,
  seq,
  type: 'message.received',
  organizationId: 'org1',
  sessionName: 'main',
  occurredAt: new Date(0),
  data: {},
});

/** The event log as committed so far; a reserved number is missing until its writer commits it. */
function log(...seqs: number[]) {
  const rows = seqs.map(event);
  const repository = {
    findBySequence: vi.fn(async (_org: string, range: { afterSeq: number }) =>
      rows.filter((e) => e.seq! > range.afterSeq).sort((x, y) => x.seq! - y.seq!),
    ),
  };
  return { rows, repository: repository as unknown as EventsRepository };
}

describe('OrganizationTail', () => {
  const setup = (committed: ReturnType<typeof log>, cursor = 0, gapTimeoutMs = 1_000) => {
    const tail = new OrganizationTail('org1', cursor, committed.repository, gapTimeoutMs);
    const seen: number[] = [];
    tail.listeners.add((events) => seen.push(...events.map((e) => e.seq!)));
    return { tail, seen };
  };

  afterEach(() => vi.useRealTimers());

  it('delivers what follows the cursor, once and in order', async () => {
    const committed = log(3, 1, 2);
    const { tail, seen } = setup(committed);
    await tail.poll();
    await tail.poll();
    expect(seen).toEqual([1, 2, 3]);
    expect(tail.cursor).toBe(3);
  });

  it('waits at a missing number until it is committed (a slower instance)', async () => {
    const committed = log(1, 3);
    const { tail, seen } = setup(committed);
    await tail.poll();
    expect(seen).toEqual([1]);
    committed.rows.push(event(2));
    await tail.poll();
    expect(seen).toEqual([1, 2, 3]);
  });

  it('skips a number missing for longer than the gap timeout (its writer died)', async () => {
    vi.useFakeTimers();
    const { tail, seen } = setup(log(1, 3, 4));
    await tail.poll();
    expect(seen).toEqual([1]);
    vi.advanceTimersByTime(999);
    await tail.poll();
    expect(seen).toEqual([1]);
    vi.advanceTimersByTime(1);
    await tail.poll();
    expect(seen).toEqual([1, 3, 4]);
  });

  it("takes this instance's contiguous writes at once and polls for the rest", async () => {
    const committed = log();
    const { tail, seen } = setup(committed, 5);
    tail.offer([event(6), event(7)]);
    expect(seen).toEqual([6, 7]);
    expect(committed.repository.findBySequence).not.toHaveBeenCalled();
    committed.rows.push(event(8), event(9));
    tail.offer([event(9)]); // 8 came from another instance: read it from the log
    await vi.waitFor(() => expect(seen).toEqual([6, 7, 8, 9]));
    tail.offer([event(9)]);
    expect(seen).toEqual([6, 7, 8, 9]);
  });
});
