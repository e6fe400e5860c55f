import type { WaAuthStore } from '../auth-state/wa-auth-store';
import type { WaConnection } from '../engine/wa-connection';
import type { WaSessionStatus } from '../session-state/session-state';
import { SerialQueue } from './serial-queue';

export interface SessionRef {
  sessionId: string;
  organizationId: string;
  sessionName: string;
}

/** Something whose status the StatusWriter can move: a live handle or a bare session document. */
export interface StatusHolder {
  readonly ref: SessionRef;
  status: WaSessionStatus;
  /** The status is the one the session was created with, never announced (see `initialStatus`). */
  initial?: boolean;
  /**
   * The token of the lease this instance took the session under: its status is written only
   * while the lease is still that one (run out or not: nobody took it since), never over the
   * status of an instance that took the session over, nor after that one let it go again.
   */
  readonly leaseToken: string;
}

/** Registry-private state of one live session. */
export class SessionHandle implements StatusHolder {
  connection?: WaConnection;
  /** Consecutive closes since the session last stayed open `backoff.stableAfterMs`. */
  failures = 0;
  /** Of those, closes of connections that had opened (the session flaps). */
  shortOpens = 0;
  /** When the current connection opened (Date.now()); undefined while it has not. */
  openedAt?: number;
  qrCount = 0;
  reconnectTimer?: NodeJS.Timeout;
  disposed = false;
  /**
   * The connection a close of ours is ending: what it still hands over (a message WhatsApp
   * already has our receipt for) is kept; it moves the session no more.
   */
  closing?: WaConnection;
  readonly events: SerialQueue;

  constructor(
    readonly ref: SessionRef,
    public status: WaSessionStatus,
    public initial: boolean,
    readonly auth: WaAuthStore,
    readonly leaseToken: string,
    onEventError: (err: unknown) => void,
  ) {
    this.events = new SerialQueue(onEventError);
  }

  get sessionId() {
    return this.ref.sessionId;
  }

  /** True while `connection` is the handle's current, live connection. */
  owns(connection: WaConnection): boolean {
    return !this.disposed && this.connection === connection;
  }

  /** Whether traffic `connection` hands over now is the session's (see `closing`). */
  takesTrafficOf(connection: WaConnection): boolean {
    return this.owns(connection) || this.closing === connection;
  }

  /** Takes the connection off the handle and stops hearing it. */
  detachConnection(): WaConnection | undefined {
    const connection = this.takeConnection();
    connection?.removeAllListeners();
    return connection;
  }

  /**
   * Takes the connection off the handle for a close of ours: its lifecycle events move the
   * session no more, its traffic is still heard (`closing`) until `closeEnded`.
   */
  beginClose(): WaConnection | undefined {
    return (this.closing = this.takeConnection());
  }

  closeEnded(connection: WaConnection | undefined): void {
    connection?.removeAllListeners();
    if (this.closing === connection) this.closing = undefined;
  }

  private takeConnection(): WaConnection | undefined {
    const connection = this.connection;
    this.connection = undefined;
    this.openedAt = undefined;
    return connection;
  }

  cancelReconnect(): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
  }
}
