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

/**
 * The event log as committed so far, and the last number handed out: a reserved number is missing
 * until its writer commits it (or for good, if the writer died).
 */
function log(...seqs: number[]) {
  const rows = seqs.map(event);
  let reserved = 0;
  const reads = {
    head: vi.fn(async () => Math.max(reserved, ...rows.map((e) => e.seq!))),
    read: vi.fn(async (_org: string, after: number, upto: number, limit: number) => {
      const events = rows
        .filter((e) => e.seq! > after && e.seq! <= upto)
        .sort((x, y) => x.seq! - y.seq!)
        .slice(0, limit);
      return { events, through: events.length === limit ? events[limit - 1].seq! : upto };
    }),
  };
  return { rows, reads, reserve: (upto: number) => (reserved = upto) };
}

describe('OrganizationTail', () => {
  const setup = (committed: ReturnType<typeof log>, cursor = 0, gapTimeoutMs = 1_000) => {
    const tail = new OrganizationTail('org1', cursor, committed.reads, gapTimeoutMs);
    const seen: number[] = [];
    tail.listeners.add((events) => seen.push(...events.map((e) => e.seq!)));
    return { tail, seen };
  };

  afterEach(() => vi.useRealTimers());

  it('delivers what follows the cursor, once and in order; an idle poll only asks the counter', async () => {
    const committed = log(3, 1, 2);
    const { tail, seen } = setup(committed);
    await tail.poll();
    await tail.poll();
    expect(seen).toEqual([1, 2, 3]);
    expect(tail.cursor).toBe(3);
    expect(committed.reads.read).toHaveBeenCalledTimes(1);
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

  it('waits for reserved numbers not stored yet at the end, then moves over them', async () => {
    vi.useFakeTimers();
    const committed = log(1);
    committed.reserve(3); // 2 and 3 handed out, not stored
    const { tail, seen } = setup(committed);
    await tail.poll();
    expect([seen, tail.cursor]).toEqual([[1], 1]);
    vi.advanceTimersByTime(1_000);
    await tail.poll();
    expect(tail.cursor).toBe(3);
    committed.rows.push(event(4));
    await tail.poll();
    expect(seen).toEqual([1, 4]);
  });

  it('gives up only the numbers missing since the gap began: one reserved later waits its own timeout', async () => {
    vi.useFakeTimers();
    const committed = log(1);
    committed.reserve(2); // 2: its writer died
    const { tail, seen } = setup(committed);
    await tail.poll();
    vi.advanceTimersByTime(900);
    committed.reserve(3); // 3: reserved by a live writer, stored a moment later
    vi.advanceTimersByTime(100);
    await tail.poll();
    expect(tail.cursor).toBe(2);
    committed.rows.push(event(3));
    await tail.poll();
    expect(seen).toEqual([1, 3]);
  });

  it('moves over an expired gap up to a stored event only as far as the numbers that waited', async () => {
    vi.useFakeTimers();
    const committed = log(1);
    committed.reserve(2); // 2: its writer died
    const { tail, seen } = setup(committed);
    await tail.poll();
    vi.advanceTimersByTime(900);
    committed.reserve(3); // 3: a live writer, slower than the writer of 4
    committed.rows.push(event(4));
    vi.advanceTimersByTime(100);
    await tail.poll();
    expect([seen, tail.cursor]).toEqual([[1], 2]);
    committed.rows.push(event(3));
    await tail.poll();
    expect(seen).toEqual([1, 3, 4]);
  });

  it("takes this instance's contiguous writes at once and polls for the rest", async () => {
    const committed = log();
    const { tail, seen } = setup(committed, 5);
    tail.offer([event(6), event(7)]);
    expect(seen).toEqual([6, 7]);
    expect(committed.reads.read).not.toHaveBeenCalled();
    committed.rows.push(event(8), event(9));
    tail.offer([event(9)]); // 8 came from another instance: read it from the log
    await vi.waitFor(() => expect(seen).toEqual([6, 7, 8, 9]));
    tail.offer([event(9)]);
    expect(seen).toEqual([6, 7, 8, 9]);
  });

  it('moves over the numbers of repeats this instance dropped at once, with no gap wait', async () => {
    const committed = log();
    const { tail, seen } = setup(committed, 5, 60_000);
    tail.offer([event(7)], { first: 6, last: 8 }); // 6 and 8 were repeats: never stored
    expect(seen).toEqual([7]);
    expect(tail.cursor).toBe(8);
    tail.offer([], { first: 9, last: 10 }); // a batch of repeats only
    expect(tail.cursor).toBe(10);
    tail.offer([event(11)], { first: 11, last: 11 });
    expect(seen).toEqual([7, 11]);
    expect(committed.reads.read).not.toHaveBeenCalled();
    // A batch that does not start at the cursor (another instance wrote in between) is read.
    committed.rows.push(event(12), event(13));
    tail.offer([event(13)], { first: 13, last: 13 });
    await vi.waitFor(() => expect(seen).toEqual([7, 11, 12, 13]));
  });

  it('leaves a failed read after an offer to the next poll (nothing unhandled)', async () => {
    const committed = log(6);
    const { tail, seen } = setup(committed, 4);
    committed.reads.head.mockRejectedValueOnce(new Error('database down'));
    tail.offer([event(6)]); // 5 is missing: a read, which fails
    await new Promise((r) => setTimeout(r, 10));
    expect(seen).toEqual([]);
    committed.rows.push(event(5));
    await tail.poll();
    expect(seen).toEqual([5, 6]);
  });
});
