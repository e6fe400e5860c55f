import { InMemorySessionStateStore } from '../session-state/in-memory-session-state.store';
import { LeaseKeeper } from './lease-keeper';

describe('LeaseKeeper', () => {
  async function keeperWithSessions(ids: string[]) {
    const store = new InMemorySessionStateStore();
    for (const id of ids) {
      const [organizationId, sessionName] = id.split('_');
      await store.create({ organizationId, sessionName });
    }
    const keeper = new LeaseKeeper(store, 'A', 30_000, vi.fn(), vi.fn());
    for (const id of ids) {
      expect(await keeper.acquire(id)).toBe(true);
      keeper.track(id);
    }
    return { store, keeper };
  }

  it('a renewal in flight when its session is released does not leave the lease taken', async () => {
    const { store, keeper } = await keeperWithSessions(['org_a', 'org_b']);
    // The database answers the renewal of org_a only after the release of org_a went through.
    const acquire = store.acquireLease.bind(store);
    let releaseNow!: () => void;
    const released = new Promise<void>((resolve) => (releaseNow = resolve));
    vi.spyOn(store, 'acquireLease').mockImplementation(async (...args) => {
      if (args[0] === 'org_a') await released;
      return acquire(...args);
    });
    const round = keeper.renewAll();
    await keeper.release('org_a');
    releaseNow();
    await round;
    expect((await store.findBySessionId('org_a'))!.lease).toBeUndefined();
    expect((await store.findBySessionId('org_b'))!.lease?.owner).toBe('A');
  });

  it('stop waits for the round under way and starts no other', async () => {
    const { store, keeper } = await keeperWithSessions(['org_a']);
    const acquire = vi.spyOn(store, 'acquireLease');
    const round = keeper.renewAll();
    expect(keeper.renewAll()).toBe(round); // one round at a time
    await keeper.stop();
    expect(acquire).toHaveBeenCalledTimes(1);
    await new Promise((r) => setTimeout(r, 20));
    expect(acquire).toHaveBeenCalledTimes(1);
  });
});
