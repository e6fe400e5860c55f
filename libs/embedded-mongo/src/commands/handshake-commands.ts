import { hostname } from 'node:os';
import { UUID, type Document } from 'bson';
import { MAX_DOCUMENT_BYTES } from '../document-size';
import type { CommandContext, CommandHandler } from './command-context';

export const MAX_MESSAGE_SIZE_BYTES = 48_000_000;
export const MAX_WRITE_BATCH_SIZE = 100_000;
const SERVER_VERSION = '7.0.0';

/**
 * A standalone's hello. `topologyVersion` is deliberately absent: advertising it switches the
 * driver's monitor to streaming hello, which expects moreToCome replies this server never sends.
 */
function hello(_command: Document, context: CommandContext): Document {
  return {
    helloOk: true,
    isWritablePrimary: true,
    ismaster: true,
    maxBsonObjectSize: MAX_DOCUMENT_BYTES,
    maxMessageSizeBytes: MAX_MESSAGE_SIZE_BYTES,
    maxWriteBatchSize: MAX_WRITE_BATCH_SIZE,
    localTime: new Date(),
    logicalSessionTimeoutMinutes: 30,
    connectionId: context.connectionId,
    minWireVersion: 0,
    maxWireVersion: 21,
    readOnly: false,
  };
}

function buildInfo(): Document {
  return {
    version: SERVER_VERSION,
    gitVersion: 'embedded-mongo',
    versionArray: [7, 0, 0, 0],
    bits: 64,
    debug: false,
    maxBsonObjectSize: MAX_DOCUMENT_BYTES,
    storageEngines: ['embedded'],
    modules: [],
    javascriptEngine: 'none',
  };
}

function serverStatus(_command: Document, context: CommandContext): Document {
  const collections = context.storage.allCollections();
  return {
    host: `${hostname()}:${context.serverPort}`,
    version: SERVER_VERSION,
    process: 'embedded-mongo',
    pid: process.pid,
    uptime: Math.floor((Date.now() - context.startedAt) / 1000),
    uptimeMillis: Date.now() - context.startedAt,
    localTime: new Date(),
    mem: { resident: Math.round(process.memoryUsage().rss / 2 ** 20), bits: 64 },
    opcounters: context.opcounters.snapshot(),
    network: { numRequests: context.opcounters.numRequests },
    metrics: { cursor: { open: { total: context.cursors.openCount } } },
    storage: {
      collections: collections.length,
      documents: collections.reduce((sum, c) => sum + c.count, 0),
    },
  };
}

function getParameter(command: Document): Document {
  const known: Document = {
    featureCompatibilityVersion: { version: '7.0' },
    authenticationMechanisms: [],
  };
  if (
    command.getParameter === '*' ||
    (typeof command.getParameter === 'object' && command.getParameter?.allParameters)
  )
    return known;
  const reply: Document = {};
  for (const name of Object.keys(command)) if (name in known) reply[name] = known[name];
  return reply;
}

export const handshakeCommands: Record<string, CommandHandler> = {
  hello,
  isMaster: hello,
  ismaster: hello,
  ping: () => ({}),
  buildInfo,
  buildinfo: buildInfo,
  getParameter,
  serverStatus,
  hostInfo: () => ({
    system: { hostname: hostname(), cpuArch: process.arch, numCores: 0 },
    os: { type: process.platform },
    extra: {},
  }),
  getLog: (command) =>
    command.getLog === '*'
      ? { names: ['global', 'startupWarnings'] }
      : { totalLinesWritten: 0, log: [] },
  connectionStatus: () => ({ authInfo: { authenticatedUsers: [], authenticatedUserRoles: [] } }),
  whatsmyuri: (_command, context) => ({ you: context.clientAddress }),
  getCmdLineOpts: () => ({ argv: ['embedded-mongo'], parsed: {} }),
  getFreeMonitoringStatus: () => ({ state: 'disabled' }),
  endSessions: () => ({}),
  killAllSessions: () => ({}),
  killSessions: () => ({}),
  startSession: () => ({ id: { id: new UUID() }, timeoutMinutes: 30 }),
  refreshSessions: () => ({}),
};
