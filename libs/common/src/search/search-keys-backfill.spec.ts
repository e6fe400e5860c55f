import mongoose, { type Model } from 'mongoose';
import { useEmbeddedConnection } from '@app/embedded-mongo/testing/embedded-connection';
import { SearchKeysBackfill } from './search-keys-backfill';

describe('SearchKeysBackfill (embedded store)', () => {
  const connectionOf = useEmbeddedConnection('search-keys-backfill');

  it('reads the collection in one query, not one per batch (on the embedded store, each a scan of every document)', async () => {
    const connection = connectionOf();
    const schema = new mongoose.Schema(
      { name: String, searchName: [String] },
      { collection: 'people' },
    );
    const model = connection.model('people', schema) as unknown as Model<unknown>;
    await model.collection.insertMany(
      Array.from({ length: 1_200 }, (_, i) => ({ name: `Person ${i}`, searchName: [] })),
    );
    const find = vi.spyOn(model.collection, 'find');

    const backfill = new SearchKeysBackfill(model, [{ source: 'name', keys: 'searchName' }]);
    expect(await backfill.run()).toBe(1_200);

    expect(find).toHaveBeenCalledTimes(1);
    expect(await model.collection.countDocuments({ searchName: 'person 1199' })).toBe(1);
    expect(await model.collection.countDocuments({ searchName: '1199' })).toBe(1);
  });
});
