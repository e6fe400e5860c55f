import { Agent } from 'node:https';
import { BaileysEngineFactory } from '../baileys/baileys-engine.factory';
import type { BaileysSocketOptions } from '../baileys/baileys-connection';
import type { WaConnection, WaEngineCreateOptions, WaEngineFactory } from '../engine/wa-connection';
import { EmulatedConnection } from './emulated-connection';
import type { EmulatorBackend } from './emulator-backend';

/** The real Baileys engine, pointed at the in-process emulator; each connection is registered for the control routes. */
export class EmulatorEngineFactory implements WaEngineFactory {
  readonly kind = 'emulator' as const;
  private readonly baileys: BaileysEngineFactory;

  constructor(
    private readonly backend: EmulatorBackend,
    options: Omit<BaileysSocketOptions, 'waWebSocketUrl'>,
  ) {
    this.baileys = new BaileysEngineFactory({
      ...options,
      waWebSocketUrl: backend.server.url,
      // Media uploads go to the emulator's HTTPS media host, whose certificate is self-signed.
      mediaUploadAgent: new Agent({ ca: backend.server.mediaCertificate }),
    });
  }

  create(opts: WaEngineCreateOptions): WaConnection {
    return new EmulatedConnection(
      opts.sessionId,
      this.baileys.create(opts),
      opts.auth,
      this.backend,
    );
  }
}
