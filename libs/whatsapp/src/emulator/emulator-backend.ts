import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import { WaEmulator } from '@app/wa-emulator';
import { SandboxSessionNotLiveError } from '../errors';
import type { EmulatedConnection } from './emulated-connection';

const SHUTDOWN_WAIT_MS = 5_000;

/**
 * engine = 'emulator': the in-process WhatsApp emulator the real Baileys engine connects to,
 * plus the directory of live emulated connections (what the sandbox control routes drive).
 * With any other engine it is an empty shell (`emulator` undefined).
 */
export class EmulatorBackend implements OnApplicationShutdown {
  private readonly log = new Logger('WaEmulator');
  private readonly live = new Map<string, EmulatedConnection>();

  private constructor(readonly emulator?: WaEmulator) {}

  static async start(dataDir?: string): Promise<EmulatorBackend> {
    const emulator = await WaEmulator.start({ dataDir });
    const backend = new EmulatorBackend(emulator);
    backend.log.log(
      `WhatsApp emulator listening on ${emulator.url}${dataDir ? ` (data in ${dataDir})` : ' (in memory)'}`,
    );
    return backend;
  }

  static disabled(): EmulatorBackend {
    return new EmulatorBackend();
  }

  get enabled(): boolean {
    return this.emulator !== undefined;
  }

  /** The running emulator; throws when the engine is not 'emulator'. */
  get server(): WaEmulator {
    if (!this.emulator)
      throw new Error('The WhatsApp emulator runs only with WHATSAPP_ENGINE=emulator');
    return this.emulator;
  }

  register(connection: EmulatedConnection): void {
    this.live.get(connection.sessionId)?.detach();
    this.live.set(connection.sessionId, connection);
  }

  unregister(connection: EmulatedConnection): void {
    if (this.live.get(connection.sessionId) === connection) this.live.delete(connection.sessionId);
  }

  get(sessionId: string): EmulatedConnection | undefined {
    return this.live.get(sessionId);
  }

  getOrThrow(sessionId: string): EmulatedConnection {
    const connection = this.live.get(sessionId);
    if (!connection) throw new SandboxSessionNotLiveError(sessionId);
    return connection;
  }

  /** After the registry closed its sessions (beforeApplicationShutdown), stop the server. */
  async onApplicationShutdown(): Promise<void> {
    if (!this.emulator) return;
    const deadline = Date.now() + SHUTDOWN_WAIT_MS;
    while (this.live.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await this.emulator.close();
  }
}
