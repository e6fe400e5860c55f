import { InMemorySessionStateStore } from '../session-state/in-memory-session-state.store';
import { LeaseKeeper } from './lease-keeper';

describe('LeaseKeeper', () => {
  async function keeperWithSessions(ids: string[]) {
    const store = new InMemorySessionStateStore();
    for (const id of ids) {
      const [organizationId, sessionName] = id.split('_');
      await store.create({ organizationId, sessionName });
    }
    const onLost = vi.fn();
    const onError = vi.fn();
    const keeper = new LeaseKeeper(store, 'A', 30_000, onLost, onError);
    for (const id of ids) {
      expect(await keeper.acquire(id)).toEqual(expect.any(String));
      keeper.track(id);
    }
    return { store, keeper, onLost, onError };
  }

  it('renews every held lease at once: a database that does not answer holds none back', async () => {
    const ids = ['org_a', 'org_b', 'org_c'];
    const { store, keeper } = await keeperWithSessions(ids);
    // The database is away: each operation waits out server selection (never answers here).
    const asked: string[] = [];
    const never = new Promise<never>(() => undefined);
    vi.spyOn(store, 'acquireLease').mockImplementation((id) => (asked.push(id), never));
    vi.spyOn(store, 'renewLeases').mockImplementation((leases) => {
      asked.push(...leases.map((l) => l.sessionId));
      return never;
    });
    void keeper.renewAll();
    await Promise.resolve();
    expect(asked.sort()).toEqual(ids);
  });

  it('a failed round drops no lease, and the next round renews them all', async () => {
    const ids = ['org_a', 'org_b', 'org_c'];
    const { store, keeper, onLost, onError } = await keeperWithSessions(ids);
    const outage = Object.assign(new Error('Server selection timed out after 10000 ms'), {
      name: 'MongoServerSelectionError',
    });
    vi.spyOn(store, 'renewLeases').mockRejectedValueOnce(outage);
    await keeper.renewAll();
    expect(onError).toHaveBeenCalledWith(outage);
    expect(keeper.held().sort()).toEqual(ids);
    const secondRound = Date.now();
    await keeper.renewAll();
    for (const id of ids) {
      const { lease } = (await store.findBySessionId(id))!;
      expect(lease!.expiresAt.getTime()).toBeGreaterThanOrEqual(secondRound + 30_000);
    }
    expect(keeper.held().sort()).toEqual(ids);
    expect(onLost).not.toHaveBeenCalled();
  });

  it('reports only the leases another instance took, not one tracked while the round ran', async () => {
    const { store, keeper, onLost } = await keeperWithSessions(['org_a', 'org_b', 'org_c']);
    await store.create({ organizationId: 'org', sessionName: 'd' });
    await store.releaseLease('org_b', store.docs.get('org_b')!.lease!.token!);
    expect(await store.acquireLease('org_b', 'B', 30_000)).not.toBeNull();
    const renew = store.renewLeases.bind(store);
    vi.spyOn(store, 'renewLeases').mockImplementationOnce(async (...args) => {
      // A session started here while the round is in flight: this round did not renew it.
      expect(await keeper.acquire('org_d')).toEqual(expect.any(String));
      keeper.track('org_d');
      return renew(...args);
    });
    await keeper.renewAll();
    expect(onLost.mock.calls).toEqual([['org_b']]);
    expect(keeper.held().sort()).toEqual(['org_a', 'org_c', 'org_d']);
  });

  it('does not take back a lease another instance held meanwhile, even once it let it go: reports it lost', async () => {
    const { store, keeper, onLost } = await keeperWithSessions(['org_a', 'org_b']);
    // A stalls past its lease; B takes org_a over, then lets it go (stopped, shut down).
    store.docs.get('org_a')!.lease!.expiresAt = new Date(Date.now() - 1);
    const b = (await store.acquireLease('org_a', 'B', 30_000))!;
    await store.releaseLease('org_a', b.token);
    // org_b ran out too, but nobody took it: still A's.
    store.docs.get('org_b')!.lease!.expiresAt = new Date(Date.now() - 1);
    await keeper.renewAll();
    expect(onLost.mock.calls).toEqual([['org_a']]);
    expect(store.docs.get('org_a')!.lease).toBeUndefined();
    expect(store.docs.get('org_b')!.lease!.expiresAt.getTime()).toBeGreaterThan(Date.now());
    expect(keeper.held()).toEqual(['org_b']);
  });

  it('a renewal in flight when its session is released does not leave the lease taken', async () => {
    const { store, keeper } = await keeperWithSessions(['org_a', 'org_b']);
    // The database answers the renewal of org_a only after the release of org_a went through.
    const renew = store.renewLeases.bind(store);
    let releaseNow!: () => void;
    const released = new Promise<void>((resolve) => (releaseNow = resolve));
    vi.spyOn(store, 'renewLeases').mockImplementation(async (...args) => {
      await released;
      return renew(...args);
    });
    const round = keeper.renewAll();
    await keeper.release('org_a', store.docs.get('org_a')!.lease!.token!);
    releaseNow();
    await round;
    expect((await store.findBySessionId('org_a'))!.lease).toBeUndefined();
    expect((await store.findBySessionId('org_b'))!.lease?.owner).toBe('A');
  });

  it('a renewal in flight when its session was released and taken again here lets go of the old lease only, not the new one', async () => {
    const { store, keeper } = await keeperWithSessions(['org_a']);
    const first = store.docs.get('org_a')!.lease!.token!;
    const renew = store.renewLeases.bind(store);
    let answerNow!: () => void;
    const answered = new Promise<void>((resolve) => (answerNow = resolve));
    vi.spyOn(store, 'renewLeases').mockImplementationOnce(async (...args) => {
      const kept = await renew(...args); // renewed under the first token...
      await answered; // ...but the answer comes late
      return kept;
    });
    const round = keeper.renewAll();
    await keeper.release('org_a', first);
    // Started again here (a restart) before the late answer: a new lease, not tracked yet.
    const second = await keeper.acquire('org_a');
    answerNow();
    await round;
    expect(store.docs.get('org_a')!.lease).toMatchObject({ owner: 'A', token: second });
  });

  it('stop waits for the round under way and starts no other', async () => {
    const { store, keeper } = await keeperWithSessions(['org_a']);
    const renew = vi.spyOn(store, 'renewLeases');
    const round = keeper.renewAll();
    expect(keeper.renewAll()).toBe(round); // one round at a time
    await keeper.stop();
    expect(renew).toHaveBeenCalledTimes(1);
    await new Promise((r) => setTimeout(r, 20));
    expect(renew).toHaveBeenCalledTimes(1);
  });
});
