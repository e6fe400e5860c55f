import { ContactLocks, RecentKeys } from './contact-locks';

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

describe('ContactLocks', () => {
  it('runs tasks of one key one at a time, in order, and survives a failing task', async () => {
    const locks = new ContactLocks();
    const log: string[] = [];
    const task =
      (name: string, fail = false) =>
      async () => {
        log.push(`start ${name}`);
        await tick();
        log.push(`end ${name}`);
        if (fail) throw new Error(name);
        return name;
      };
    const results = await Promise.allSettled([
      locks.run('s1', task('a')),
      locks.run('s1', task('b', true)),
      locks.run('s1', task('c')),
    ]);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    await tick();
    expect(locks.size).toBe(0);
  });

  it('lets different keys run concurrently', async () => {
    const locks = new ContactLocks();
    const log: string[] = [];
    await Promise.all(
      ['s1', 's2'].map((key) =>
        locks.run(key, async () => {
          log.push(`start ${key}`);
          await tick();
          log.push(`end ${key}`);
        }),
      ),
    );
    expect(log.slice(0, 2)).toEqual(['start s1', 'start s2']);
  });
});

describe('RecentKeys', () => {
  it('reports repeats and forgets the oldest beyond capacity', () => {
    const keys = new RecentKeys(2);
    expect(keys.seen('a')).toBe(false);
    expect(keys.seen('a')).toBe(true);
    keys.seen('b');
    keys.seen('c');
    expect(keys.seen('a')).toBe(false);
  });
});
