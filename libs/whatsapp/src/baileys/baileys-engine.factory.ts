import type { WaConnection, WaEngineCreateOptions, WaEngineFactory } from '../engine/wa-connection';
import { BaileysConnection, type BaileysSocketOptions } from './baileys-connection';
import { routeLibsignalConsoleOnce } from './libsignal-console';

/** The production engine: real WhatsApp Web through @whiskeysockets/baileys. */
export class BaileysEngineFactory implements WaEngineFactory {
  readonly kind = 'baileys' as const;

  constructor(private readonly options: BaileysSocketOptions) {
    // Its Signal sessions would print their private keys to stdout (see libsignal-console).
    routeLibsignalConsoleOnce();
  }

  create(opts: WaEngineCreateOptions): WaConnection {
    return new BaileysConnection(opts.sessionId, opts.auth, opts.logger, this.options);
  }
}
