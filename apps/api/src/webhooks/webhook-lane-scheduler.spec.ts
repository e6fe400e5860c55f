import { type LaneLimits, WebhookLaneScheduler } from './webhook-lane-scheduler';

interface TestLane {
  organizationId: string;
  name: string;
}

/** A scheduler whose lanes run until the test ends them; records starts in order. */
function setup(limits: LaneLimits) {
  const started: string[] = [];
  const running = new Map<string, Array<(err?: Error) => void>>();
  let concurrentOfOneLane = 0;
  const errors: string[] = [];
  const scheduler = new WebhookLaneScheduler<TestLane>(
    () => limits,
    (lane) => {
      started.push(lane.name);
      const ends = running.get(lane.name) ?? [];
      if (ends.length) concurrentOfOneLane++;
      running.set(lane.name, ends);
      return new Promise<void>((resolve, reject) =>
        ends.push((err) => (err ? reject(err) : resolve())),
      );
    },
    (_err, key) => errors.push(key),
  );
  const lane = (name: string): TestLane => ({ organizationId: name.replace(/\d+$/, ''), name });
  const submit = (...names: string[]) => {
    for (const name of names) scheduler.submit(name, lane(name));
  };
  /** Ends the lane's (oldest) run and lets the scheduler admit the next ones. */
  const end = async (name: string, err?: Error) => {
    const ends = running.get(name);
    if (!ends?.length) throw new Error(`${name} is not running`);
    ends.shift()!(err);
    if (!ends.length) running.delete(name);
    await flush();
  };
  const isRunning = (name: string) => running.has(name);
  return {
    scheduler,
    limits,
    started,
    errors,
    submit,
    end,
    isRunning,
    runningNow: () => [...running.keys()].sort(),
    concurrentOfOneLane: () => concurrentOfOneLane,
  };
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('WebhookLaneScheduler', () => {
  it("does not let an organization with many stuck lanes take the slots another organization's lanes need", async () => {
    const s = setup({ total: 4, perOrganization: 2 });
    // Organization b: six lanes whose receivers never answer (the runs never end).
    s.submit('b1', 'b2', 'b3', 'b4', 'b5', 'b6');
    await flush();
    expect(s.runningNow()).toEqual(['b1', 'b2']);

    s.submit('a1');
    await flush();
    expect(s.isRunning('a1')).toBe(true);
    await s.end('a1');
    s.submit('a2', 'c1');
    await flush();
    expect(s.runningNow()).toEqual(['a2', 'b1', 'b2', 'c1']);

    // The instance cap still holds: a fifth lane waits for a slot.
    s.submit('d1');
    await flush();
    expect(s.isRunning('d1')).toBe(false);
    await s.end('c1');
    expect(s.isRunning('d1')).toBe(true);
    // b's waiting lanes get only b's own freed slots.
    await s.end('b1');
    expect(s.runningNow()).toEqual(['a2', 'b2', 'b3', 'd1']);
  });

  it('admits waiting lanes round-robin by organization, each organization in arrival order', async () => {
    const s = setup({ total: 1, perOrganization: 1 });
    s.submit('x1'); // holds the only slot while the others queue up
    s.submit('b1', 'b2', 'b3', 'a1', 'a2', 'c1');
    await flush();
    expect(s.started).toEqual(['x1']);
    for (const name of ['x1', 'b1', 'a1', 'c1', 'b2', 'a2', 'b3']) await s.end(name);
    expect(s.started).toEqual(['x1', 'b1', 'a1', 'c1', 'b2', 'a2', 'b3']);
  });

  it('serves an organization again only after every other waiting organization had its turn', async () => {
    const s = setup({ total: 2, perOrganization: 2 });
    s.submit('b1', 'b2', 'b3', 'b4');
    await flush();
    expect(s.runningNow()).toEqual(['b1', 'b2']);
    s.submit('a1', 'c1');
    await s.end('b1');
    await s.end('b2');
    // Both freed slots went to the organizations that were waiting, not to b's next lanes.
    expect(s.runningNow()).toEqual(['a1', 'c1']);
  });

  it('runs a lane once at a time: submitted while running, it runs once more afterwards', async () => {
    const s = setup({ total: 4, perOrganization: 4 });
    s.submit('a1');
    await flush();
    s.submit('a1', 'a1', 'a1'); // folded into one more run
    await flush();
    expect(s.started).toEqual(['a1']);
    await s.end('a1');
    expect(s.started).toEqual(['a1', 'a1']);
    await s.end('a1');
    expect(s.started).toEqual(['a1', 'a1']);
    expect(s.concurrentOfOneLane()).toBe(0);
  });

  it("puts a lane's run again behind the organization's other waiting lanes; a waiting lane keeps its place", async () => {
    const s = setup({ total: 4, perOrganization: 1 });
    s.submit('a1', 'a2', 'a3');
    await flush();
    s.submit('a1'); // more work for the running lane
    s.submit('a2'); // already waiting: not queued twice
    await s.end('a1');
    await s.end('a2');
    await s.end('a3');
    await s.end('a1');
    expect(s.started).toEqual(['a1', 'a2', 'a3', 'a1']);
  });

  it('frees the slot of a lane that failed and reports the failure', async () => {
    const s = setup({ total: 1, perOrganization: 1 });
    s.submit('a1', 'b1');
    await flush();
    await s.end('a1', new Error('boom'));
    expect(s.errors).toEqual(['a1']);
    expect(s.isRunning('b1')).toBe(true);
  });

  it('applies changed limits from the next admission on', async () => {
    const s = setup({ total: 4, perOrganization: 1 });
    s.submit('a1', 'a2', 'a3');
    await flush();
    expect(s.runningNow()).toEqual(['a1']);
    s.limits.perOrganization = 3;
    s.submit('b1');
    await flush();
    expect(s.runningNow()).toEqual(['a1', 'a2', 'a3', 'b1']);
  });

  it('on stop drops the waiting lanes, starts no more and waits for the running ones', async () => {
    const s = setup({ total: 1, perOrganization: 1 });
    s.submit('a1', 'b1');
    await flush();
    s.submit('a1');
    let stopped = false;
    const stopping = s.scheduler.stop().then(() => (stopped = true));
    await flush();
    expect(stopped).toBe(false);
    await s.end('a1');
    await stopping;
    s.submit('c1');
    await flush();
    expect(s.started).toEqual(['a1']);
  });
});
