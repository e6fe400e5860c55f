import type { WaConnection, WaEngineCreateOptions, WaEngineFactory } from '../engine/wa-connection';
import { SandboxConnection, type SandboxTimings } from './sandbox-connection';
import type { SandboxHub } from './sandbox-hub';

export class SandboxEngineFactory implements WaEngineFactory {
  readonly kind = 'sandbox' as const;

  constructor(
    private readonly hub: SandboxHub,
    private readonly timings: SandboxTimings,
  ) {}

  create(opts: WaEngineCreateOptions): WaConnection {
    // A new connection for the same session replaces the old one, like a second WhatsApp Web login would.
    this.hub.get(opts.sessionId)?.close();
    return new SandboxConnection(opts.sessionId, opts.auth, this.hub, this.timings);
  }
}
