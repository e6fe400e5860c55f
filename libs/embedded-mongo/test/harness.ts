import { randomUUID } from 'node:crypto';
import { MongoClient, type Db, type MongoClientOptions } from 'mongodb';
import { EmbeddedMongoServer, type EmbeddedMongoOptions } from '../src';

/** Set MONGODB_URI to run the conformance suite against a real MongoDB instead of the embedded server. */
export const externalUri = process.env.MONGODB_URI;
export const usingRealMongo = externalUri !== undefined;

export interface TestTarget {
  client: MongoClient;
  db: Db;
  uri: string;
  /** Present only when the suite runs against the embedded server. */
  server?: EmbeddedMongoServer;
  close(): Promise<void>;
}

/** A connected client on a throwaway database, embedded unless MONGODB_URI points elsewhere. */
export async function startTarget(
  options: EmbeddedMongoOptions = {},
  clientOptions: MongoClientOptions = {},
): Promise<TestTarget> {
  const dbName = `conformance_${randomUUID().slice(0, 8)}`;
  const server = usingRealMongo ? undefined : await EmbeddedMongoServer.start(options);
  const uri = server ? server.uri(dbName) : externalUri!;
  const client = await MongoClient.connect(uri, {
    serverSelectionTimeoutMS: 5_000,
    ...clientOptions,
  });
  const db = client.db(dbName);
  return {
    client,
    db,
    uri,
    server,
    async close() {
      if (usingRealMongo) await db.dropDatabase().catch(() => undefined);
      await client.close();
      await server?.close();
    },
  };
}
