export { EmbeddedMongoServer, type EmbeddedMongoLogger, type EmbeddedMongoOptions } from './server';
