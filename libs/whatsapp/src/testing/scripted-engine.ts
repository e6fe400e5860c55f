import { EventEmitter } from 'node:events';
import type { WaConnection, WaEngineFactory } from '../engine/wa-connection';

/**
 * A connection whose events the test emits itself, in whatever order it likes. `linked`: what
 * isLinked() answers (a scan that linked it sets it); `logouts`: how often it was logged out.
 */
export type ScriptedConnection = EventEmitter & {
  closed: boolean;
  linked: boolean;
  logouts: number;
};

/** An engine of ScriptedConnections, each pushed to `connections` as it is created. */
export function scriptedEngine(connections: ScriptedConnection[]): WaEngineFactory {
  return {
    kind: 'baileys',
    create: () => {
      const connection = Object.assign(new EventEmitter(), {
        closed: false,
        linked: false,
        logouts: 0,
        close: async () => {
          connection.closed = true;
        },
        logout: async () => {
          connection.logouts += 1;
          connection.closed = true;
        },
        isLinked: () => connection.linked,
        flushEvents: () => undefined,
      });
      connections.push(connection);
      return connection as unknown as WaConnection;
    },
  };
}
