import mongoose, { type Connection } from 'mongoose';
import { afterAll, beforeAll } from 'vitest';
import { EmbeddedMongoServer } from '../server';

/**
 * For specs of code on mongoose: a memory-only embedded server and a connection to `dbName`,
 * opened before the suite and closed after it. Call it in a `describe`; read the connection from
 * the returned getter inside hooks and tests.
 */
export function useEmbeddedConnection(dbName: string): () => Connection {
  let server: EmbeddedMongoServer | undefined;
  let connection: Connection | undefined;
  beforeAll(async () => {
    server = await EmbeddedMongoServer.start({});
    connection = await mongoose.createConnection(server.uri(dbName)).asPromise();
  });
  afterAll(async () => {
    await connection?.close();
    await server?.close();
  });
  return () => {
    if (!connection)
      throw new Error('useEmbeddedConnection: read the connection inside a hook or test');
    return connection;
  };
}
