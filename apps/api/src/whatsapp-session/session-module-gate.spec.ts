import type { SessionQueryService, SessionRegistry } from '@app/whatsapp';
import { onOneDatabase } from '@app/whatsapp/testing/registry-test-kit';
import type { OrganizationsService } from '../organizations/organizations.service';
import type { OrganizationModuleName } from '../organizations/schemas/organization.schema';
import { MODULE_OFF_REASON, SessionModuleGate } from './session-module-gate';

describe('SessionModuleGate', () => {
  const setUp = (current: OrganizationModuleName[]) => {
    const modules = { current };
    const registry = {
      stopWhileBarred: vi.fn().mockResolvedValue(undefined),
      restore: vi.fn().mockResolvedValue({ restored: ['org1_a'], failed: [], skipped: [] }),
    };
    const sessions = {
      listByOrganization: vi
        .fn()
        .mockResolvedValue([{ sessionId: 'org1_a' }, { sessionId: 'org1_b' }]),
    };
    const organizations = {
      hasModuleNow: vi.fn(async (_id: string, module: OrganizationModuleName) =>
        modules.current.includes(module),
      ),
    };
    const gate = new SessionModuleGate(
      registry as unknown as SessionRegistry,
      sessions as unknown as SessionQueryService,
      organizations as unknown as OrganizationsService,
    );
    return { gate, registry, modules };
  };
  const change = (previous: OrganizationModuleName[], modules: OrganizationModuleName[]) => ({
    organizationId: 'org1',
    previous,
    modules,
  });

  it('stops every session when the module goes off, restores them when it comes back', async () => {
    const off = setUp(['crm']);
    await off.gate.onModulesChanged(change(['whatsapp', 'crm'], ['crm']));
    expect(off.registry.stopWhileBarred.mock.calls).toEqual([
      ['org1_a', MODULE_OFF_REASON],
      ['org1_b', MODULE_OFF_REASON],
    ]);
    expect(off.registry.restore).not.toHaveBeenCalled();
    const on = setUp(['whatsapp']);
    await on.gate.onModulesChanged(change([], ['whatsapp']));
    expect(on.registry.restore).toHaveBeenCalledWith([
      { sessionId: 'org1_a' },
      { sessionId: 'org1_b' },
    ]);
    expect(on.registry.stopWhileBarred).not.toHaveBeenCalled();
  });

  it('applies the module as it is now when two switches race: off then on leaves them running', async () => {
    // Both writes happened (on is the last); the "off" event is handled after the "on" one.
    const { gate, registry } = setUp(['whatsapp', 'crm']);
    await Promise.all([
      gate.onModulesChanged(change(['crm'], ['whatsapp', 'crm'])),
      gate.onModulesChanged(change(['whatsapp', 'crm'], ['crm'])),
    ]);
    expect(registry.stopWhileBarred).not.toHaveBeenCalled();
    expect(registry.restore).toHaveBeenCalledTimes(2);
  });

  it('switched on (on another instance) while its stops run: reads the module again and restores', async () => {
    const { gate, registry, modules } = setUp(['crm']);
    registry.stopWhileBarred.mockImplementationOnce(async () => {
      modules.current = ['whatsapp', 'crm']; // that instance's restore skipped what was still held
    });
    await gate.onModulesChanged(change(['whatsapp', 'crm'], ['crm']));
    expect(registry.stopWhileBarred).toHaveBeenCalledTimes(2);
    expect(registry.restore).toHaveBeenCalledTimes(1);
    expect(registry.restore.mock.invocationCallOrder[0]).toBeGreaterThan(
      registry.stopWhileBarred.mock.invocationCallOrder[1]!,
    );
  });

  it('switched off (on another instance) while its restore runs: reads the module again and stops', async () => {
    const { gate, registry, modules } = setUp(['whatsapp', 'crm']);
    registry.restore.mockImplementationOnce(async () => {
      modules.current = ['crm'];
      return { restored: ['org1_a', 'org1_b'], failed: [], skipped: [] };
    });
    await gate.onModulesChanged(change(['crm'], ['whatsapp', 'crm']));
    expect(registry.restore).toHaveBeenCalledTimes(1);
    expect(registry.stopWhileBarred.mock.calls).toEqual([
      ['org1_a', MODULE_OFF_REASON],
      ['org1_b', MODULE_OFF_REASON],
    ]);
  });

  it('leaves the sessions alone when another module changes', async () => {
    const { gate, registry } = setUp(['whatsapp']);
    await gate.onModulesChanged(change(['whatsapp', 'crm'], ['whatsapp']));
    expect(registry.stopWhileBarred).not.toHaveBeenCalled();
    expect(registry.restore).not.toHaveBeenCalled();
  });

  describe('three instances on one database (real registries, sandbox engine)', () => {
    /**
     * C holds two connected sessions and takes relayed requests only when the test says; A and B
     * run the gate. The organization's modules are one shared document.
     */
    async function cluster() {
      const modules = { current: ['whatsapp', 'crm'] as OrganizationModuleName[] };
      const mayRun = async () => modules.current.includes('whatsapp');
      const { store, instance } = onOneDatabase({ mayRun });
      /** Runs after each reading C makes, before C acts on it. */
      const afterCReads: { hook?: (may: boolean) => Promise<void> } = {};
      const c = instance('C', {
        holderPollMs: 3_600_000,
        mayRun: async () => {
          const may = await mayRun();
          await afterCReads.hook?.(may);
          return may;
        },
      });
      const a = instance('A');
      const b = instance('B');
      const ids = [await c.linkedSession('m1', '15550000001')];
      ids.push(await c.linkedSession('m2', '15550000002'));
      const organizations = {
        hasModuleNow: async (_id: string, module: OrganizationModuleName) =>
          modules.current.includes(module),
      };
      const sessions = { listByOrganization: (org: string) => store.listByOrganization(org) };
      const gateOf = (registry: SessionRegistry) =>
        new SessionModuleGate(
          registry,
          sessions as unknown as SessionQueryService,
          organizations as unknown as OrganizationsService,
        );
      /** C's relay, polled until `until` settles (C would poll every 250 ms). */
      const cTakesRequestsUntil = async (until: Promise<unknown>) => {
        let done = false;
        void until.finally(() => (done = true));
        while (!done) {
          await (c.registry as any).relay.poll();
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        return until;
      };
      const shutDown = () =>
        Promise.all([a, b, c].map((kit) => kit.registry.beforeApplicationShutdown()));
      return {
        store,
        modules,
        afterCReads,
        a,
        b,
        c,
        ids,
        gateA: gateOf(a.registry),
        gateB: gateOf(b.registry),
        cTakesRequestsUntil,
        shutDown,
      };
    }

    it('off on A, then on on B while A relays its stop to C: the sessions end running with the module on', async () => {
      const { store, modules, c, ids, gateA, gateB, cTakesRequestsUntil, shutDown } =
        await cluster();
      // A writes "off", reads it and leaves the stop of m1 for C ...
      modules.current = ['crm'];
      const off = gateA.onModulesChanged(change(['whatsapp', 'crm'], ['crm']));
      await vi.waitFor(() =>
        expect([...store.requests.values()]).toMatchObject([{ sessionId: ids[0] }]),
      );
      // ... B writes "on" and applies it: its restore skips both sessions, C still runs them ...
      modules.current = ['whatsapp', 'crm'];
      await gateB.onModulesChanged(change(['crm'], ['whatsapp', 'crm']));
      // ... and only then does C take A's stop.
      await cTakesRequestsUntil(off);

      for (const id of ids) {
        await vi.waitFor(() => expect(store.docs.get(id)).toMatchObject({ status: 'connected' }));
        expect(store.docs.get(id)!.lastError).toBeUndefined();
        expect(store.docs.get(id)!.lease).toBeDefined();
      }
      expect(c.registry.liveCount()).toBe(2);
      await shutDown();
    });

    it('on on B while C is stopping the sessions for A: they come back once stopped', async () => {
      const {
        store,
        modules,
        afterCReads,
        a,
        b,
        c,
        ids,
        gateA,
        gateB,
        cTakesRequestsUntil,
        shutDown,
      } = await cluster();
      modules.current = ['crm'];
      // The switch back lands right after C read "off", before its first stop.
      let switchedOn: Promise<void> | undefined;
      afterCReads.hook = async (may) => {
        if (may || switchedOn) return;
        modules.current = ['whatsapp', 'crm'];
        switchedOn = gateB.onModulesChanged(change(['crm'], ['whatsapp', 'crm']));
        await switchedOn; // B's restore: m1 and m2 still held by C, skipped
      };
      const off = gateA.onModulesChanged(change(['whatsapp', 'crm'], ['crm']));
      await cTakesRequestsUntil(off);
      expect(switchedOn).toBeDefined();

      for (const id of ids)
        await vi.waitFor(() => expect(store.docs.get(id)).toMatchObject({ status: 'connected' }));
      const running = [a, b, c].reduce((n, kit) => n + kit.registry.liveCount(), 0);
      expect(running).toBe(2);
      await shutDown();
    });
  });
});
