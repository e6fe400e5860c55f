import { DisconnectReason } from '@whiskeysockets/baileys';
import type { WaCloseInfo, WaCloseReason } from '../engine/close-reason';

interface BoomLike {
  message?: string;
  output?: { statusCode?: number };
}

/** Baileys `lastDisconnect.error` (a Boom) → our close info. 408 is both "lost" and "QR timed out": the message decides. */
export function mapBaileysClose(error: unknown): WaCloseInfo {
  const boom = error as BoomLike | undefined;
  const code = boom?.output?.statusCode ?? DisconnectReason.connectionClosed;
  const message = boom?.message || 'Connection Closed';
  let reason: WaCloseReason;
  switch (code) {
    case DisconnectReason.loggedOut:
      reason = 'loggedOut';
      break;
    case DisconnectReason.restartRequired:
      reason = 'restartRequired';
      break;
    case DisconnectReason.connectionReplaced:
      reason = 'connectionReplaced';
      break;
    case DisconnectReason.badSession:
      reason = 'badSession';
      break;
    case DisconnectReason.forbidden:
      reason = 'forbidden';
      break;
    case DisconnectReason.multideviceMismatch:
      reason = 'multideviceMismatch';
      break;
    case DisconnectReason.unavailableService:
      reason = 'unavailableService';
      break;
    case DisconnectReason.timedOut: // === connectionLost (408)
      reason = /QR refs attempts ended/i.test(message) ? 'timedOut' : 'connectionLost';
      break;
    default:
      reason = 'other';
  }
  return { code, reason, message };
}
