import mongoose, { type Model } from 'mongoose';
import { useEmbeddedConnection } from '@app/embedded-mongo/testing/embedded-connection';
import { defaultIndexName, ObsoleteIndexes } from './obsolete-indexes';

const OLD = { organizationId: 1, sessionName: 1, lastMessageAt: -1 } as const;
const OLD_NAME = 'organizationId_1_sessionName_1_lastMessageAt_-1';

describe('ObsoleteIndexes (embedded store)', () => {
  let connection: mongoose.Connection;
  const connectionOf = useEmbeddedConnection('obsolete-indexes');

  /** A model of `collection` declaring the current index (the old one plus `_id`). */
  const modelOf = (collection: string, autoCreate = true) => {
    const schema = new mongoose.Schema(
      { organizationId: String, sessionName: String, lastMessageAt: Date },
      { collection, autoIndex: false, autoCreate },
    );
    schema.index({ ...OLD, _id: -1 });
    return connection.model(collection, schema) as unknown as Model<unknown>;
  };
  const indexNames = async (collection: string) =>
    (await connection.collection(collection).listIndexes().toArray()).map((i) => i.name);

  beforeAll(() => {
    connection = connectionOf();
  });
  afterEach(() => vi.restoreAllMocks());

  it('names an index as MongoDB does', () => {
    expect(defaultIndexName(OLD)).toBe(OLD_NAME);
  });

  it('drops a listed index that exists, once: a second run and a missing index are no-ops', async () => {
    const model = modelOf('chats_a');
    await model.createIndexes();
    await connection.collection('chats_a').createIndex(OLD);
    expect(await indexNames('chats_a')).toContain(OLD_NAME);

    const cleanup = new ObsoleteIndexes(model, [OLD_NAME, 'never_existed_1']);
    expect(await cleanup.run()).toEqual([OLD_NAME]);
    expect(await indexNames('chats_a')).toEqual([
      '_id_',
      'organizationId_1_sessionName_1_lastMessageAt_-1__id_-1',
    ]);
    expect(await cleanup.run()).toEqual([]);
    expect(await indexNames('chats_a')).toHaveLength(2);
  });

  it('is safe with two instances booting at once: the index goes once, neither fails', async () => {
    const model = modelOf('chats_b');
    await connection.collection('chats_b').createIndex(OLD);
    const runs = await Promise.all([
      new ObsoleteIndexes(model, [OLD_NAME]).run(),
      new ObsoleteIndexes(model, [OLD_NAME]).run(),
    ]);
    expect(runs.flat()).toEqual([OLD_NAME]);
    expect(await indexNames('chats_b')).toEqual(['_id_']);

    // The other instance drops it between this one's listing and its drop.
    await connection.collection('chats_b').createIndex(OLD);
    const listed = await model.collection.listIndexes().toArray();
    await connection.collection('chats_b').dropIndex(OLD_NAME);
    vi.spyOn(model.collection, 'listIndexes').mockReturnValueOnce({
      toArray: () => Promise.resolve(listed),
    } as never);
    expect(await new ObsoleteIndexes(model, [OLD_NAME]).run()).toEqual([]);
  });

  it('does nothing on a collection that does not exist yet', async () => {
    const model = modelOf('chats_c', false);
    expect(await new ObsoleteIndexes(model, [OLD_NAME]).run()).toEqual([]);
    expect(await connection.db!.listCollections({ name: 'chats_c' }).toArray()).toEqual([]);
  });

  it('never drops an index the schema declares', async () => {
    const model = modelOf('chats_d');
    await model.createIndexes();
    const current = 'organizationId_1_sessionName_1_lastMessageAt_-1__id_-1';
    expect(await new ObsoleteIndexes(model, [current]).run()).toEqual([]);
    expect(await indexNames('chats_d')).toContain(current);
  });

  it('logs a failure at boot and lets the boot go on', async () => {
    const model = modelOf('chats_e');
    await connection.collection('chats_e').createIndex(OLD);
    const cleanup = new ObsoleteIndexes(model, [OLD_NAME]);
    vi.spyOn(model.collection, 'dropIndex').mockRejectedValueOnce(new Error('not authorized'));
    await expect(cleanup.onApplicationBootstrap()).resolves.toBeUndefined();
    expect(await indexNames('chats_e')).toContain(OLD_NAME);
    await cleanup.onApplicationBootstrap(); // the next boot
    expect(await indexNames('chats_e')).toEqual(['_id_']);
  });
});
