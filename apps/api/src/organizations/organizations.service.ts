import { ExpiringCache } from '@app/common';
import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { ORGANIZATION_EVENTS, type OrganizationModulesChangedEvent } from './organizations.events';
import type { OrganizationModuleName } from './schemas/organization.schema';
import { OrganizationNotFoundError } from './organizations.errors';
import { OrganizationRecord, OrganizationsRepository } from './organizations.repository';

const MODULES_CACHE_MS = 2_000;

@Injectable()
export class OrganizationsService {
  // Module checks run on every guarded request, and the token check on every request; a short
  // cache keeps them off the database (null: the organization does not exist).
  private readonly modulesCache = new ExpiringCache<OrganizationModuleName[] | null>(
    MODULES_CACHE_MS,
    10_000,
  );

  constructor(
    private readonly organizations: OrganizationsRepository,
    private readonly events: EventEmitter2,
  ) {}

  create(name: string): Promise<OrganizationRecord> {
    return this.organizations.create(name);
  }

  /** Compensation for a registration whose user insert lost a race. */
  remove(id: string): Promise<void> {
    return this.organizations.deleteById(id);
  }

  async get(id: string): Promise<OrganizationRecord> {
    const org = await this.organizations.findById(id);
    if (!org) throw new OrganizationNotFoundError();
    return org;
  }

  async rename(id: string, name: string | undefined): Promise<OrganizationRecord> {
    if (name === undefined) return this.get(id);
    const org = await this.organizations.update(id, { name });
    if (!org) throw new OrganizationNotFoundError();
    return org;
  }

  async setModules(id: string, modules: OrganizationModuleName[]): Promise<OrganizationRecord> {
    // The state this very write replaced (two concurrent switches each see the other's result).
    const before = await this.organizations.setModules(id, modules);
    if (!before) throw new OrganizationNotFoundError();
    const previous = before.modules ?? [];
    this.modulesCache.delete(id);
    // Awaited: the sessions have stopped (or come back) when the request is answered.
    await this.events.emitAsync(ORGANIZATION_EVENTS.modulesChanged, {
      organizationId: id,
      modules,
      previous,
    } satisfies OrganizationModulesChangedEvent);
    return this.get(id);
  }

  async hasModule(id: string, module: OrganizationModuleName): Promise<boolean> {
    return ((await this.cachedModules(id)) ?? []).includes(module);
  }

  /** Whether the organization still exists (a token naming one that does not is refused). */
  async exists(id: string): Promise<boolean> {
    return (await this.cachedModules(id)) !== null;
  }

  /**
   * As stored now, never from the cache (which another instance's switch leaves stale for up to
   * 2 s): for whether sessions may run, decided right before they are started or stopped.
   */
  async hasModuleNow(id: string, module: OrganizationModuleName): Promise<boolean> {
    return ((await this.storedModules(id)) ?? []).includes(module);
  }

  private async cachedModules(id: string): Promise<OrganizationModuleName[] | null> {
    const cached = this.modulesCache.get(id);
    return cached !== undefined ? cached : this.storedModules(id);
  }

  private async storedModules(id: string): Promise<OrganizationModuleName[] | null> {
    const org = await this.organizations.findById(id);
    const modules = org ? (org.modules ?? []) : null;
    this.modulesCache.set(id, modules);
    return modules;
  }
}
