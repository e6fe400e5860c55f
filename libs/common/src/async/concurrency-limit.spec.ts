import { ConcurrencyLimit } from './concurrency-limit';

const tick = () => new Promise((r) => setImmediate(r));

describe('ConcurrencyLimit', () => {
  it('runs at most max tasks at once, the rest in arrival order, also after a failure', async () => {
    const limit = new ConcurrencyLimit(2);
    const started: number[] = [];
    const release = new Map<number, (fail?: boolean) => void>();
    let running = 0;
    let most = 0;
    const task = (n: number) =>
      limit.run(async () => {
        started.push(n);
        running++;
        most = Math.max(most, running);
        const fail = await new Promise<boolean | undefined>((r) => release.set(n, r));
        running--;
        if (fail) throw new Error(`task ${n} failed`);
        return n;
      });
    const results = [1, 2, 3, 4, 5].map((n) => task(n).catch((e: Error) => e.message));
    await tick();
    expect(started).toEqual([1, 2]);
    expect(limit.queued).toBe(3);
    release.get(2)!(true); // a failing task frees its slot too
    await tick();
    expect(started).toEqual([1, 2, 3]);
    release.get(1)!();
    await tick();
    expect(started).toEqual([1, 2, 3, 4]);
    for (const n of [3, 4]) release.get(n)!();
    await tick();
    release.get(5)!();
    expect(await Promise.all(results)).toEqual([1, 'task 2 failed', 3, 4, 5]);
    expect(most).toBe(2);
    expect(limit.queued).toBe(0);
  });
});
