import { SandboxSessionNotLiveError } from '../errors';
import type { SandboxConnection } from './sandbox-connection';
import { SandboxMediaStore } from './sandbox-media-store';

/**
 * The app's directory of live sandbox connections (what SandboxControl drives) and their media
 * (kept in `mediaDir` when given, so a restart finds it; in memory otherwise).
 */
export class SandboxHub {
  private readonly live = new Map<string, SandboxConnection>();
  readonly media: SandboxMediaStore;

  constructor(mediaDir?: string) {
    this.media = new SandboxMediaStore(undefined, mediaDir);
  }

  register(connection: SandboxConnection): void {
    this.live.set(connection.sessionId, connection);
  }

  /** Only removes the entry if it still points to this connection (a newer one may have replaced it). */
  unregister(connection: SandboxConnection): void {
    if (this.live.get(connection.sessionId) === connection) this.live.delete(connection.sessionId);
  }

  get(sessionId: string): SandboxConnection | undefined {
    return this.live.get(sessionId);
  }

  getOrThrow(sessionId: string): SandboxConnection {
    const connection = this.live.get(sessionId);
    if (!connection) throw new SandboxSessionNotLiveError(sessionId);
    return connection;
  }

  get size(): number {
    return this.live.size;
  }
}
