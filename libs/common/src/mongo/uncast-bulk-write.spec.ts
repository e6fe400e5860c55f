import mongoose, { type AnyBulkWriteOperation, Schema } from 'mongoose';
import { useEmbeddedConnection } from '@app/embedded-mongo/testing/embedded-connection';
import { uncastBulkWrite } from './uncast-bulk-write';

interface Thing {
  key: string;
  count: number;
  tags: string[];
  note: string | null;
  flag: boolean;
  nested: { sub: string };
  seenAt: Date;
}

const schema = new Schema<Thing>(
  {
    key: { type: String, required: true },
    count: { type: Number, default: 0 },
    tags: { type: [String], default: [] },
    note: { type: String, default: null },
    flag: { type: Boolean, default: false },
    nested: { sub: { type: String, default: 'x' } },
    seenAt: { type: Date, default: Date.now },
  },
  { timestamps: true },
);
schema.index({ key: 1 }, { unique: true });

/** Statements covering what the gateway's hot paths send, and the edges of mongoose's additions. */
const operations = (): AnyBulkWriteOperation<Thing>[] => [
  {
    updateOne: {
      filter: { key: 'a' },
      update: { $set: { flag: true }, $inc: { count: 2 } },
      upsert: true,
    },
  },
  {
    updateOne: {
      filter: { key: 'a' },
      update: { $inc: { count: 1 }, $max: { seenAt: new Date('2100-01-01') } },
      upsert: true,
    },
  },
  {
    updateOne: {
      filter: { key: 'b' },
      update: { $setOnInsert: { tags: ['t'], note: 'n' } },
      upsert: true,
    },
  },
  {
    updateOne: {
      filter: { key: 'c', count: { $gte: 0 } },
      update: { $set: { 'nested.sub': 'y' } },
      upsert: true,
    },
  },
  {
    updateOne: {
      filter: { key: 'd', flag: true },
      update: { $min: { seenAt: new Date(7) } },
      upsert: true,
    },
  },
  {
    // The parent is written: its child's default must stay out (MongoDB would refuse the conflict).
    updateOne: { filter: { key: 'e' }, update: { $set: { nested: { sub: 'z' } } }, upsert: true },
  },
  { updateOne: { filter: { key: 'b' }, update: { $set: { note: 'changed' } } } },
  { updateMany: { filter: { flag: true }, update: { $inc: { count: 10 } } } },
  { updateOne: { filter: { key: 'missing' }, update: { $set: { flag: true } } } },
];

describe('uncastBulkWrite (embedded store)', () => {
  let connection: mongoose.Connection;

  const connectionOf = useEmbeddedConnection('uncast');
  beforeAll(() => {
    connection = connectionOf();
  });

  const stored = async (model: mongoose.Model<Thing>) =>
    (await model.find().sort({ key: 1 }).lean().exec()).map(({ _id, ...doc }) => doc);

  it('stores the documents mongoose would store for the same statements', async () => {
    const cast = connection.model('CastThing', schema, 'cast_things');
    const uncast = connection.model('UncastThing', schema, 'uncast_things');
    const castResult = await cast.bulkWrite(operations(), { ordered: true });
    const uncastResult = await uncastBulkWrite(uncast, operations(), { ordered: true });

    const expected = await stored(cast);
    const actual = await stored(uncast);
    expect(actual.map((doc) => doc.key)).toEqual(['a', 'b', 'c', 'd', 'e']);
    // Times are taken when each write runs: they must be there and be Dates, not be equal.
    const withoutTimes = (docs: typeof actual) =>
      docs.map(({ createdAt, updatedAt, seenAt, ...rest }: Record<string, unknown>) => {
        for (const time of [createdAt, updatedAt, seenAt]) expect(time).toBeInstanceOf(Date);
        return rest;
      });
    expect(withoutTimes(actual)).toEqual(withoutTimes(expected));
    expect(actual.find((doc) => doc.key === 'a')?.seenAt).toEqual(new Date('2100-01-01')); // $max won
    expect(Object.keys(uncastResult.upsertedIds)).toEqual(Object.keys(castResult.upsertedIds));
    expect(uncastResult.modifiedCount).toBe(castResult.modifiedCount);
  });

  it('reports refused statements as mongoose does: writeErrors, and the upserts that landed', async () => {
    const model = connection.model('ErrThing', schema, 'err_things');
    await model.syncIndexes();
    await uncastBulkWrite(
      model,
      [{ updateOne: { filter: { key: 'taken' }, update: { $set: { flag: true } }, upsert: true } }],
      {
        ordered: false,
      },
    );
    const failure = await uncastBulkWrite(
      model,
      [
        // The filter misses the stored 'taken' (flag is true), so its upsert collides on the key.
        {
          updateOne: {
            filter: { key: 'taken', flag: false },
            update: { $inc: { count: 1 } },
            upsert: true,
          },
        },
        { updateOne: { filter: { key: 'new' }, update: { $inc: { count: 1 } }, upsert: true } },
      ],
      { ordered: false },
    ).then(
      () => undefined,
      (error: {
        writeErrors?: Array<{ index: number; code: number }>;
        result?: { upsertedIds?: object };
      }) => error,
    );
    expect(failure?.writeErrors?.map((e) => [e.index, e.code])).toEqual([[0, 11000]]);
    expect(Object.keys(failure?.result?.upsertedIds ?? {})).toEqual(['1']);
    expect(await model.countDocuments({ key: 'new' })).toBe(1);
  });

  it('refuses statements it cannot complete as mongoose would', () => {
    const model = connection.model('RefusedThing', schema, 'refused_things');
    expect(() =>
      uncastBulkWrite(model, [{ insertOne: { document: { key: 'x' } as Thing } }], {
        ordered: true,
      }),
    ).toThrow(/only updateOne and updateMany/);
    expect(() =>
      uncastBulkWrite(model, [{ updateOne: { filter: { key: 'x' }, update: { key: 'y' } } }], {
        ordered: true,
      }),
    ).toThrow(/only operator updates/);
  });
});
