import type { SessionQueryService, SessionRegistry } from '@app/whatsapp';
import type { OrganizationsService } from '../organizations/organizations.service';
import type { OrganizationModuleName } from '../organizations/schemas/organization.schema';
import { MODULE_OFF_REASON, SessionModuleGate } from './session-module-gate';

describe('SessionModuleGate', () => {
  const setUp = (current: OrganizationModuleName[]) => {
    const registry = {
      stop: vi.fn().mockResolvedValue(undefined),
      restore: vi.fn().mockResolvedValue({ restored: ['org1_a'], failed: [], skipped: [] }),
    };
    const sessions = {
      listByOrganization: vi
        .fn()
        .mockResolvedValue([{ sessionId: 'org1_a' }, { sessionId: 'org1_b' }]),
    };
    const organizations = { get: vi.fn(async () => ({ modules: current })) };
    const gate = new SessionModuleGate(
      registry as unknown as SessionRegistry,
      sessions as unknown as SessionQueryService,
      organizations as unknown as OrganizationsService,
    );
    return { gate, registry };
  };
  const change = (previous: OrganizationModuleName[], modules: OrganizationModuleName[]) => ({
    organizationId: 'org1',
    previous,
    modules,
  });

  it('stops every session when the module goes off, restores them when it comes back', async () => {
    const off = setUp(['crm']);
    await off.gate.onModulesChanged(change(['whatsapp', 'crm'], ['crm']));
    expect(off.registry.stop.mock.calls).toEqual([
      ['org1_a', MODULE_OFF_REASON],
      ['org1_b', MODULE_OFF_REASON],
    ]);
    const on = setUp(['whatsapp']);
    await on.gate.onModulesChanged(change([], ['whatsapp']));
    expect(on.registry.restore).toHaveBeenCalledWith([
      { sessionId: 'org1_a' },
      { sessionId: 'org1_b' },
    ]);
    expect(on.registry.stop).not.toHaveBeenCalled();
  });

  it('applies the module as it is now when two switches race: off then on leaves them running', async () => {
    // Both writes happened (on is the last); the "off" event is handled after the "on" one.
    const { gate, registry } = setUp(['whatsapp', 'crm']);
    await Promise.all([
      gate.onModulesChanged(change(['crm'], ['whatsapp', 'crm'])),
      gate.onModulesChanged(change(['whatsapp', 'crm'], ['crm'])),
    ]);
    expect(registry.stop).not.toHaveBeenCalled();
    expect(registry.restore).toHaveBeenCalledTimes(2);
  });

  it('leaves the sessions alone when another module changes', async () => {
    const { gate, registry } = setUp(['whatsapp']);
    await gate.onModulesChanged(change(['whatsapp', 'crm'], ['whatsapp']));
    expect(registry.stop).not.toHaveBeenCalled();
    expect(registry.restore).not.toHaveBeenCalled();
  });
});
