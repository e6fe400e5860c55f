export type WaSessionStatus =
  'connecting' | 'qr_ready' | 'connected' | 'disconnected' | 'logged_out' | 'failed';

export interface WaSessionLease {
  owner: string;
  expiresAt: Date;
  /**
   * New at every take (none on a lease taken by an earlier version): a renewal extends only the
   * lease taken under its token, so a holder never gets back a lease another instance held since.
   */
  token?: string;
}

/** A lease as the instance holding it knows it (SessionStateStore.acquireLease, renewLeases). */
export interface LeaseGrant {
  sessionId: string;
  token: string;
  /**
   * The take's place among the session's takes, larger at every later one (whoever takes it):
   * the session's auth writes are fenced by it (see AuthWriteFence).
   */
  epoch: number;
  /** By the database's clock. */
  expiresAt: Date;
}

/** Persisted state of one WhatsApp session (collection `whatsapp_sessions`). */
export interface WaSessionState {
  sessionId: string;
  organizationId: string;
  sessionName: string;
  status: WaSessionStatus;
  statusChangedAt?: Date;
  /**
   * Set at creation, removed by the first status change: the status is still the one the session
   * was created with (`disconnected`), never announced, so that change has no previous status.
   */
  initialStatus?: boolean;
  phone?: string;
  jid?: string;
  lid?: string;
  pushName?: string;
  /** PNG data URL of the current QR. */
  qr?: string;
  qrExpiresAt?: Date;
  lastError?: string;
  lastActivityAt?: Date;
  connectedAt?: Date;
  /**
   * When the session was last logged out (kept through later links): sends accepted before it
   * belong to an earlier link and never go out through a later one.
   */
  loggedOutAt?: Date;
  /**
   * Stopped by a close that leaves it to the user (its connection replaced by another WhatsApp Web
   * client, its QR not scanned in time: `disconnected`; its number banned or its multi-device link
   * refused: `failed`): neither the boot restore nor orphan adoption starts it again; `GET …/qr` or
   * `POST …/restart` does (any start removes it). With another status it was left by a version that
   * does not know it, and is ignored.
   */
  stoppedUntilAsked?: boolean;
  lease?: WaSessionLease;
  /** The epoch of the lease's last take (LeaseGrant.epoch); kept when the lease is let go. */
  leaseEpoch?: number;
  /**
   * A status change written but not yet announced (cleared once its event was published): one a
   * crash cut off is announced later (StatusWriter.announceMissed), not lost.
   */
  announcing?: WaStatusAnnouncement;
  createdAt: Date;
  updatedAt: Date;
}

export interface WaStatusAnnouncement {
  status: WaSessionStatus;
  /** null on the session's first status change. */
  previousStatus: WaSessionStatus | null;
  at: Date;
}

/**
 * A session deletion about to happen, noted before the document goes and dropped once the deletion
 * was announced: one a crash cut off after the delete is announced later (SessionDeletions), one
 * whose delete never happened (its document, same `sessionCreatedAt`, still there) is dropped.
 */
export interface WaSessionDeletionNote {
  sessionId: string;
  organizationId: string;
  sessionName: string;
  /** The number it was linked to last, when it had one. */
  phone?: string;
  /** The deleted document's `createdAt`: tells this session from one created again under its name. */
  sessionCreatedAt: Date;
  at: Date;
}

/** Fields the registry may change; `null` removes a field. */
export type WaSessionPatch = {
  [
    K in Exclude<
      keyof WaSessionState,
      | 'sessionId'
      | 'organizationId'
      | 'sessionName'
      | 'createdAt'
      | 'updatedAt'
      | 'lease'
      | 'leaseEpoch'
    >
  ]?: WaSessionState[K] | null;
};

export const makeSessionId = (organizationId: string, sessionName: string) =>
  `${organizationId}_${sessionName}`;

/** makeSessionId's inverse: organization ids hold no `_`, so the name is what follows the first. */
export const sessionNameOf = (sessionId: string): string =>
  sessionId.slice(sessionId.indexOf('_') + 1);
