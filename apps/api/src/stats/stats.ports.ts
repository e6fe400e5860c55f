/**
 * What Stats reads from other modules, behind Symbol tokens so the service and its tests do not
 * depend on those modules' classes. StatsModule binds them with `useExisting` to
 * WhatsAppSessionsService, ContactsService, MessageHistoryService and LidMergeService.
 */
export const STATS_SESSIONS_SOURCE = Symbol('STATS_SESSIONS_SOURCE');
export const STATS_CONTACTS_SOURCE = Symbol('STATS_CONTACTS_SOURCE');
export const STATS_MESSAGES_SOURCE = Symbol('STATS_MESSAGES_SOURCE');
export const STATS_LID_SOURCE = Symbol('STATS_LID_SOURCE');

export interface StatsSessionsSource {
  list(organizationId: string): Promise<Array<{ sessionName: string; status: string }>>;
}

export interface StatsContactsSource {
  summary(
    organizationId: string,
    opts: { sessionName?: string; since: Date; until: Date },
  ): Promise<{ total: number; new: number; linkedToCustomers: number }>;
}

export interface ChatRef {
  organizationId: string;
  sessionName: string;
  chatJid: string;
}

export interface StatsMessagesSource {
  /**
   * The chat's first outgoing chat message at or after `at` that went out (sent or beyond, not
   * failed or still pending) and came live (not by history sync): what answered an inbound one then.
   */
  firstReplyAt(chat: ChatRef, at: Date): Promise<{ _id: string; timestamp: Date } | null>;
  /** The chat's latest live outgoing chat message before `at` that went out: the reply before one at `at`. */
  lastReplyBefore(chat: ChatRef, at: Date): Promise<{ _id: string; timestamp: Date } | null>;
  /** The chat's first live received chat message after `at`: what waits once a reply at `at` answered. */
  firstInboundAfter(chat: ChatRef, at: Date): Promise<{ _id: string; timestamp: Date } | null>;
}

/** A session of an organization, as the contacts' LID mappings are kept (`sessionId` = `${organizationId}_${sessionName}`). */
export interface SessionRef {
  organizationId: string;
  sessionId: string;
  sessionName: string;
}

/** The LID→phone mappings WhatsApp revealed to a session (Contacts records them). */
export interface StatsLidSource {
  phoneOf(session: SessionRef, lid: string): Promise<string | undefined>;
  lidOf(session: SessionRef, phone: string): Promise<string | undefined>;
}
