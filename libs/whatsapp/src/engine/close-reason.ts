export type WaCloseReason =
  | 'connectionLost'
  | 'loggedOut'
  | 'restartRequired'
  | 'connectionReplaced'
  | 'timedOut'
  | 'badSession'
  | 'forbidden'
  | 'multideviceMismatch'
  | 'unavailableService'
  | 'other';

/** Status codes WhatsApp Web uses for each reason (same numbers as Baileys' DisconnectReason). */
export const CLOSE_CODES: Readonly<Record<Exclude<WaCloseReason, 'other'>, number>> = {
  connectionLost: 408,
  timedOut: 408,
  loggedOut: 401,
  restartRequired: 515,
  connectionReplaced: 440,
  badSession: 500,
  forbidden: 403,
  multideviceMismatch: 411,
  unavailableService: 503,
};

export interface WaCloseInfo {
  code: number;
  reason: WaCloseReason;
  message: string;
}
