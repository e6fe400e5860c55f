export { EmbeddedMongoServer, type EmbeddedMongoLogger, type EmbeddedMongoOptions } from './server';
export {
  EmbeddedMongoThread,
  type EmbeddedMongoThreadOptions,
} from './worker/embedded-mongo-thread';
export type { ThreadMemory } from './worker/worker-protocol';
