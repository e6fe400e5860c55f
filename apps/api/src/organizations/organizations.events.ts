import type { OrganizationModuleName } from './schemas/organization.schema';

/** Events the Organizations module emits after its write (EventEmitter2). */
export const ORGANIZATION_EVENTS = {
  /** The organization's modules were set; WhatsApp sessions stop or come back with `whatsapp`. */
  modulesChanged: 'organization.modules.changed',
} as const;

export interface OrganizationModulesChangedEvent {
  organizationId: string;
  modules: OrganizationModuleName[];
  previous: OrganizationModuleName[];
}
