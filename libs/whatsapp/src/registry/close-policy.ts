import type { WaCloseInfo } from '../engine/close-reason';

export type CloseDecision =
  | { action: 'loggedOut'; lastError: string }
  | { action: 'reconnectNow' }
  | { action: 'stop'; lastError: string }
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
