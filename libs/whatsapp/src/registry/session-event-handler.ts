import type { Logger } from '@nestjs/common';
import * as QRCode from 'qrcode';
import { backoffDelay } from '@app/common';
import type { WaCloseInfo } from '../engine/close-reason';
import type { WaConnection, WaConnectionEvents, WaOpenInfo } from '../engine/wa-connection';
import { WA_EVENTS } from '../events';
import type { WaSessionPatch, WaSessionStatus } from '../session-state/session-state';
import type { WhatsAppOptions } from '../whatsapp.options';
import { decideOnClose } from './close-policy';
import type { WaEventPublisher } from './event-publisher';
import type { SessionHandle } from './session-handle';
import type { StatusWriter } from './status-writer';

const renderQrPng = (qr: string) => QRCode.toDataURL(qr);

/** What the handler may ask the registry to do with a handle. */
export interface LifecycleHooks {
  reconnect(handle: SessionHandle, delayMs: number): void;
  /** Forget the handle (its connection is already detached); `release` gives the lease back. */
  retire(handle: SessionHandle, release: boolean): Promise<void>;
}

/**
 * Turns one connection's engine events into status changes and domain events.
 * Events run one at a time per session, and are dropped once the connection
 * is no longer the handle's current one (stopped, replaced, retired).
 */
export class SessionEventHandler {
  constructor(
    private readonly status: StatusWriter,
    private readonly publisher: WaEventPublisher,
    private readonly options: WhatsAppOptions,
    private readonly hooks: LifecycleHooks,
    private readonly logger: Logger,
  ) {}

  bind(handle: SessionHandle, connection: WaConnection): void {
    /**
     * Lifecycle events move the session: only while the connection is still the handle's when
     * their turn comes (a close of ours settles it meanwhile).
     */
    const onLifecycle = <K extends keyof WaConnectionEvents & string>(
      event: K,
      run: (...args: WaConnectionEvents[K]) => Promise<void> | void,
    ) =>
      connection.on(event, (...args: WaConnectionEvents[K]) =>
        handle.events.push(() => (handle.owns(connection) ? run(...args) : undefined)),
      );
    /**
     * Traffic WhatsApp handed over (a message whose receipt went out, a status): kept if it came
     * while the connection was the handle's or a close of ours was ending it, also when its turn
     * comes after that close.
     */
    const onTraffic = <K extends keyof WaConnectionEvents & string>(
      event: K,
      run: (...args: WaConnectionEvents[K]) => void,
    ) =>
      connection.on(event, (...args: WaConnectionEvents[K]) => {
        if (handle.takesTrafficOf(connection)) handle.events.push(() => run(...args));
      });
    const ref = handle.ref;
    onLifecycle('connecting', async () => {
      // Late: the connection showed a QR or opened already; it is not connecting any more.
      if (handle.qrCount > 0 || handle.openedAt !== undefined) return;
      if (handle.status !== 'connecting') await this.status.set(handle, 'connecting');
    });
    onLifecycle('qr', (qr) => this.onQr(handle, connection, qr));
    onLifecycle('open', (info) => this.onOpen(handle, info));
    onLifecycle('close', (info) => this.onClose(handle, info));
    // Traffic events are not awaited: a burst is processed concurrently (subscribers are idempotent
    // and order-tolerant) instead of one message's whole pipeline after the other.
    onTraffic(
      'message',
      (message) => void this.publisher.publish(WA_EVENTS.messageReceived, { ...ref, message }),
    );
    onTraffic(
      'status',
      (update) => void this.publisher.publish(WA_EVENTS.messageStatus, { ...ref, ...update }),
    );
    onTraffic(
      'readElsewhere',
      (read) => void this.publisher.publish(WA_EVENTS.messagesReadElsewhere, { ...ref, ...read }),
    );
    onTraffic(
      'contacts',
      (contacts) => void this.publisher.publish(WA_EVENTS.contactsUpserted, { ...ref, contacts }),
    );
    onTraffic(
      'lidMapping',
      (mapping) => void this.publisher.publish(WA_EVENTS.lidMapping, { ...ref, ...mapping }),
    );
  }

  private async onQr(handle: SessionHandle, connection: WaConnection, qr: string): Promise<void> {
    // Late (a QR timer of the pairing that fired after all): a linked connection has no QR to
    // show, and `qr_ready` would take a connected session off the air.
    if (handle.openedAt !== undefined) {
      this.logger.warn(
        `Session ${handle.sessionId}: a QR code after the connection opened; ignored`,
      );
      return;
    }
    handle.qrCount += 1;
    const ttl = handle.qrCount === 1 ? this.options.qr.firstTtlMs : this.options.qr.rotateMs;
    const dataUrl = await (this.options.renderQr ?? renderQrPng)(qr);
    const expiresAt = new Date(Date.now() + ttl);
    if (!handle.owns(connection)) return;
    if (!(await this.status.set(handle, 'qr_ready', { qr: dataUrl, qrExpiresAt: expiresAt })))
      return;
    await this.publisher.publish(WA_EVENTS.sessionQr, { ...handle.ref, qr: dataUrl, expiresAt });
  }

  private async onOpen(handle: SessionHandle, info: WaOpenInfo): Promise<void> {
    // Repeated: the connection opened once; its connectedAt and flap clock stay the first open's.
    if (handle.openedAt !== undefined) return;
    // The reconnect budget is renewed at the close, if this connection stayed open long enough.
    handle.openedAt = Date.now();
    await this.status.set(handle, 'connected', {
      phone: info.phone,
      jid: info.jid,
      lid: info.lid ?? null,
      pushName: info.pushName ?? null,
      connectedAt: new Date(),
      qr: null,
      qrExpiresAt: null,
      lastError: null,
    });
  }

  private async onClose(handle: SessionHandle, info: WaCloseInfo): Promise<void> {
    const openedFor = this.countOpen(handle);
    handle.detachConnection();
    const decision = decideOnClose(info, { waitingForScan: handle.status === 'qr_ready' });
    this.logger.log(
      `Session ${handle.sessionId} closed: ${info.reason} ${info.code} "${info.message}" → ${decision.action}`,
    );
    const noQr = { qr: null, qrExpiresAt: null } as const;
    switch (decision.action) {
      case 'reconnectNow':
        // As WhatsApp asks; but one asked again and again right after connecting is a flap.
        if (openedFor === undefined) this.hooks.reconnect(handle, 0);
        else if (!(await this.gaveUp(handle, `${info.message} (${info.code})`, true)))
          this.hooks.reconnect(
            handle,
            handle.failures === 1 ? 0 : backoffDelay(handle.failures - 1, this.options.backoff),
          );
        return;
      case 'loggedOut':
        await this.settle(handle, 'logged_out', { ...noQr, lastError: decision.lastError }, () =>
          handle.auth.clear(),
        );
        return;
      case 'stop':
        // Recorded with the status: a restart of the gateway (or another instance) leaves it too.
        await this.settle(handle, 'disconnected', {
          ...noQr,
          lastError: decision.lastError,
          stoppedUntilAsked: true,
        });
        return;
      case 'fail':
        // For good until asked, across restarts too: a boot that reconnected a banned number
        // would only hammer WhatsApp again.
        await this.settle(
          handle,
          'failed',
          { ...noQr, lastError: decision.lastError, stoppedUntilAsked: true },
          decision.unlink ? () => handle.auth.clear() : undefined,
        );
        return;
      case 'retry': {
        if (await this.gaveUp(handle, decision.lastError, openedFor !== undefined)) return;
        try {
          await this.status.set(handle, 'disconnected', { ...noQr, lastError: decision.lastError });
        } finally {
          // A status the database could not take (an outage) must not keep the session down.
          if (!handle.disposed)
            this.hooks.reconnect(handle, backoffDelay(handle.failures, this.options.backoff));
        }
      }
    }
  }

  /**
   * Counts a failed attempt (`shortOpen`: the connection had opened, and closed before it was
   * stable); past `maxRetries` of them in a row the session ends `failed`, and true is returned.
   */
  private async gaveUp(handle: SessionHandle, error: string, shortOpen: boolean): Promise<boolean> {
    handle.failures += 1;
    if (shortOpen) handle.shortOpens += 1;
    const { maxRetries, stableAfterMs } = this.options.backoff;
    if (handle.failures <= maxRetries) return false;
    const flapped = handle.shortOpens
      ? ` (${handle.shortOpens} connections closed within ${Math.round(stableAfterMs / 1000)} s of opening)`
      : '';
    const lastError = `Gave up after ${maxRetries} reconnect attempts${flapped}; last error: ${error}`;
    // Not marked: the network may be back by the next boot, which tries it again.
    await this.settle(handle, 'failed', {
      qr: null,
      qrExpiresAt: null,
      lastError,
      stoppedUntilAsked: null,
    });
    return true;
  }

  /**
   * How long the closing connection had been open (undefined: it never opened). One that stayed
   * open `stableAfterMs` renews the reconnect budget; one closed sooner does not, so a session
   * that opens and is closed again every few seconds backs off and gives up like any failing one.
   */
  private countOpen(handle: SessionHandle): number | undefined {
    const openedAt = handle.openedAt;
    if (openedAt === undefined) return undefined;
    const openedFor = Date.now() - openedAt;
    if (openedFor >= this.options.backoff.stableAfterMs) {
      handle.failures = 0;
      handle.shortOpens = 0;
      return undefined;
    }
    return openedFor;
  }

  /**
   * Ends the session here on a close that settles it (logged out, stopped, given up). The status
   * is written while the lease is still held, and only then is the lease released (as a stop
   * does): an instance that finds the session free never has its own start overwritten by this
   * close. The handle is disposed first, so nothing opens a connection on it in between (no
   * reconnect; the registry waits for a disposed handle to be retired before it starts anew).
   */
  private async settle(
    handle: SessionHandle,
    status: WaSessionStatus,
    patch: WaSessionPatch,
    first?: () => Promise<void>,
  ): Promise<void> {
    handle.disposed = true;
    handle.cancelReconnect();
    try {
      await first?.();
      await this.status.set(handle, status, patch);
    } finally {
      await this.hooks.retire(handle, true);
    }
  }
}
