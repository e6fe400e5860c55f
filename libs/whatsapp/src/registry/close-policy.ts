import type { WaCloseInfo } from '../engine/close-reason';

export type CloseDecision =
  | { action: 'loggedOut'; lastError: string }
  | { action: 'reconnectNow' }
  | { action: 'stop'; lastError: string }
  /** For good: every reconnect would be refused the same way. `unlink`: the stored link is void. */
  | { action: 'fail'; lastError: string; unlink: boolean }
  | { action: 'retry'; lastError: string };

/** What to do when a connection closes on its own. */
export function decideOnClose(info: WaCloseInfo, ctx: { waitingForScan: boolean }): CloseDecision {
  switch (info.reason) {
    case 'loggedOut':
      return { action: 'loggedOut', lastError: `Logged out: ${info.message}` };
    case 'restartRequired':
      // Normal after pairing: WhatsApp asks the client to reconnect with the new creds.
      return { action: 'reconnectNow' };
    case 'connectionReplaced':
      // Another client/instance opened this session; fighting it would make both flap.
      return {
        action: 'stop',
        lastError: `Connection replaced by another client (${info.code}): ${info.message}`,
      };
    case 'forbidden':
      // Banned or blocked: reconnecting only hammers WhatsApp. The link is kept for a restart
      // once the number may use WhatsApp again.
      return {
        action: 'fail',
        unlink: false,
        lastError: `Banned or blocked by WhatsApp (${info.code}): ${info.message}; not reconnecting, restart the session once the number may use WhatsApp again`,
      };
    case 'multideviceMismatch':
      // WhatsApp refuses this link as a linked device: these creds never connect again.
      return {
        action: 'fail',
        unlink: true,
        lastError: `Multi-device link refused by WhatsApp (${info.code}): ${info.message}; link the number again with a new QR code`,
      };
    case 'unavailableService':
      // WhatsApp's side is away for a while: says nothing about the link; backoff spares it.
      return {
        action: 'retry',
        lastError: `WhatsApp service unavailable (${info.code}): ${info.message}`,
      };
    case 'timedOut':
      if (ctx.waitingForScan)
        return {
          action: 'stop',
          lastError: 'QR code was not scanned in time; request a new QR code',
        };
      break;
  }
  return { action: 'retry', lastError: `${info.message} (${info.code})` };
}
