import { Logger } from '@nestjs/common';
import mongoose, { type Model } from 'mongoose';
import { useEmbeddedConnection } from '@app/embedded-mongo/testing/embedded-connection';
import {
  insertInFreeSlot,
  isSlotTakenError,
  ORGANIZATION_SLOT_INDEX,
  OrganizationSlotsBackfill,
  usedSlotsOf,
} from './organization-slots';

describe('organization slots (embedded store)', () => {
  let connection: mongoose.Connection;
  const connectionOf = useEmbeddedConnection('organization-slots');

  const modelOf = async (collection: string) => {
    const schema = new mongoose.Schema(
      { organizationId: String, name: String, slot: Number },
      { collection },
    );
    schema.index(...ORGANIZATION_SLOT_INDEX);
    const model = connection.model(collection, schema) as unknown as Model<unknown>;
    await model.init();
    return model;
  };
  const createIn = (model: Model<unknown>, organizationId: string, limit: number, name: string) =>
    insertInFreeSlot(
      () => usedSlotsOf(model.collection, organizationId),
      limit,
      async (slot) => (await model.create({ organizationId, name, slot })).toObject(),
    );

  beforeAll(() => {
    connection = connectionOf();
  });

  it('holds the limit when creates race, also one whose insert lands after its rivals counted', async () => {
    const model = await modelOf('slots_race');
    const LIMIT = 5;
    // The first create reads the free slots, then its insert waits until its rivals are done:
    // counting first and ranking after let such a late insert in past the limit.
    let releaseFirst!: () => void;
    const firstHeld = new Promise<void>((resolve) => (releaseFirst = resolve));
    const late = insertInFreeSlot(
      () => usedSlotsOf(model.collection, 'org'),
      LIMIT,
      async (slot) => {
        await firstHeld;
        return (await model.create({ organizationId: 'org', name: 'late', slot })).toObject();
      },
    );
    const rivals = await Promise.all(
      Array.from({ length: 9 }, (_, i) => createIn(model, 'org', LIMIT, `rival-${i}`)),
    );
    releaseFirst();
    const results = [...rivals, await late];
    expect(results.filter(Boolean)).toHaveLength(LIMIT);
    expect(await model.countDocuments({ organizationId: 'org' })).toBe(LIMIT);
    // Another organization has its own slots; a delete frees one.
    expect(await createIn(model, 'other', LIMIT, 'x')).toBeDefined();
    await model.deleteOne({ organizationId: 'org', name: 'rival-0' });
    const one = await model.findOne({ organizationId: 'org' }).lean<{ name: string }>();
    await model.deleteOne({ organizationId: 'org', name: one!.name });
    expect(await createIn(model, 'org', LIMIT, 'after-delete')).toBeDefined();
  });

  it('with no limit, always finds a slot', async () => {
    const model = await modelOf('slots_unlimited');
    for (let i = 0; i < 30; i++)
      expect(await createIn(model, 'org', Number.POSITIVE_INFINITY, `s${i}`)).toBeDefined();
    expect(new Set(await usedSlotsOf(model.collection, 'org')).size).toBe(30);
  });

  it('tells a taken slot from other duplicate keys', async () => {
    const model = await modelOf('slots_errors');
    await model.create({ organizationId: 'org', slot: 0 });
    const error = await model.create({ organizationId: 'org', slot: 0 }).catch((e: unknown) => e);
    expect(isSlotTakenError(error)).toBe(true);
    expect(isSlotTakenError({ code: 11000, keyPattern: { organizationId: 1, name: 1 } })).toBe(
      false,
    );
    expect(isSlotTakenError(new Error('boom'))).toBe(false);
  });

  it('at boot gives the documents written before slots one each, on several instances at once', async () => {
    const model = await modelOf('slots_backfill');
    await model.collection.insertMany([
      { organizationId: 'a', name: 'a1' },
      { organizationId: 'a', name: 'a2', slot: 0 },
      { organizationId: 'a', name: 'a3' },
      { organizationId: 'b', name: 'b1' },
    ]);
    await Promise.all([
      new OrganizationSlotsBackfill(model).onApplicationBootstrap(),
      new OrganizationSlotsBackfill(model).onApplicationBootstrap(),
    ]);
    const docs = await model.collection.find({}, { projection: { _id: 0 } }).toArray();
    expect(docs.every((d) => typeof d.slot === 'number')).toBe(true);
    expect(new Set(docs.filter((d) => d.organizationId === 'a').map((d) => d.slot))).toEqual(
      new Set([0, 1, 2]),
    );
    // Full now at a limit of 3: the limit counts them.
    expect(await createIn(model, 'a', 3, 'a4')).toBeUndefined();
  });

  it('gives no slots while the unique slot index cannot be built, saying why', async () => {
    const collection = 'slots_no_index';
    // Two documents holding one slot (written by hand): the unique index cannot be built.
    await connection.collection(collection).insertMany([
      { organizationId: 'a', name: 'a1', slot: 0 },
      { organizationId: 'a', name: 'a2', slot: 0 },
      { organizationId: 'a', name: 'a3' },
    ]);
    const schema = new mongoose.Schema(
      { organizationId: String, name: String, slot: Number },
      { collection, autoIndex: false },
    );
    schema.index(...ORGANIZATION_SLOT_INDEX);
    const model = connection.model(collection, schema) as unknown as Model<unknown>;
    // As mongoose's autoIndex would at model compile: the build fails.
    const built = model.createIndexes();
    vi.spyOn(model, 'init').mockReturnValue(built as never);
    const error = vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    await new OrganizationSlotsBackfill(model).onApplicationBootstrap();
    expect(await model.collection.countDocuments({ slot: { $exists: false } })).toBe(1);
    expect(error).toHaveBeenCalledWith(expect.stringContaining('could not be built'));
  });
});
