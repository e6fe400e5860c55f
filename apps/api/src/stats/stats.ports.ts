/**
 * What Stats reads from other modules, behind Symbol tokens so the service and its tests do not
 * depend on those modules' classes. StatsModule binds them with `useExisting` to
 * WhatsAppSessionsService and ContactsService.
 */
export const STATS_SESSIONS_SOURCE = Symbol('STATS_SESSIONS_SOURCE');
export const STATS_CONTACTS_SOURCE = Symbol('STATS_CONTACTS_SOURCE');

export interface StatsSessionsSource {
  list(organizationId: string): Promise<Array<{ sessionName: string; status: string }>>;
}

export interface StatsContactsSource {
  summary(
    organizationId: string,
    opts: { sessionName?: string; since: Date; until: Date },
  ): Promise<{ total: number; new: number; linkedToCustomers: number }>;
}
