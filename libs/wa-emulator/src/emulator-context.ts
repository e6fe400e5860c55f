import type { ConnectionRegistry } from './connection-registry';
import type { Directory } from './directory';
import type { StateStore } from './state';
import type { WaEmulatorOptions } from './types';
import type { Waiters } from './waiters';

/** What every part of the emulator shares: state, who is connected, who exists, logging. */
export interface EmulatorContext {
  readonly store: StateStore;
  readonly options: WaEmulatorOptions;
  readonly connections: ConnectionRegistry;
  readonly directory: Directory;
  /** Notified whenever a client starts waiting for a QR scan or a pairing code. */
  readonly pairingWaiters: Waiters;
  log(message: string, details?: Record<string, unknown>): void;
}
