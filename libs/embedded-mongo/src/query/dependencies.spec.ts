import { serialize, type Document } from 'bson';
import { Aggregator } from 'mingo';
import { decodeFields, FieldSet } from '../storage/bson-reader';
import { mingoOptions } from './mingo-options';
import { filterFields, findDecoding, pipelineFields } from './dependencies';

const documents = Array.from({ length: 40 }, (_, i) => ({
  _id: i,
  org: `o${i % 2}`,
  status: ['sent', 'read', 'failed'][i % 3],
  n: i,
  at: new Date(i * 1000),
  tags: i % 4 ? ['a', 'b'] : [],
  nested: { day: `d${i % 5}`, score: i % 7 },
  unused: 'x'.repeat(50),
}));

const run = (pipeline: Document[], input: Document[]) =>
  new Aggregator(pipeline, mingoOptions()).run(input);

describe('pipelineFields', () => {
  const pipelines: Document[][] = [
    [{ $match: { org: 'o1' } }, { $group: { _id: '$status', total: { $sum: '$n' } } }],
    [{ $match: { org: 'o1' } }, { $group: { _id: 1, n: { $sum: 1 } } }],
    [{ $match: { $expr: { $gt: ['$n', 10] } } }, { $count: 'c' }],
    [
      { $match: { 'nested.day': 'd1' } },
      { $unwind: '$tags' },
      { $group: { _id: '$tags', count: { $sum: 1 } } },
    ],
    [
      { $sort: { at: -1 } },
      { $limit: 5 },
      { $project: { _id: 0, status: 1, twice: { $multiply: ['$n', 2] } } },
    ],
    [{ $set: { day: '$nested.day' } }, { $group: { _id: '$day', top: { $max: '$n' } } }],
    [{ $group: { _id: '$org', first: { $top: { sortBy: { at: 1 }, output: '$status' } } } }],
    [{ $sortByCount: '$status' }],
    [{ $replaceWith: { s: '$status' } }],
  ];

  it('names enough fields for the pipeline to give the same result on partly decoded documents', () => {
    for (const pipeline of pipelines) {
      const fields = pipelineFields(pipeline);
      expect({ pipeline, known: fields !== undefined }).toEqual({ pipeline, known: true });
      expect(fields!.has('unused')).toBe(false);
      const partial = documents.map((doc) =>
        decodeFields(Buffer.from(serialize(doc)), new FieldSet(fields!)),
      );
      expect(run(pipeline, partial)).toEqual(run(pipeline, documents));
    }
  });

  it('asks for whole documents when they leave the pipeline or are read as a whole', () => {
    for (const pipeline of [
      [{ $match: { org: 'o1' } }],
      [{ $sort: { n: 1 } }, { $limit: 1 }],
      [{ $project: { unused: 0 } }],
      [{ $project: { nested: { day: 1 } } }],
      [{ $group: { _id: null, all: { $push: '$$ROOT' } } }],
      [{ $lookup: { from: 'x', localField: 'a', foreignField: 'b', as: 'c' } }, { $count: 'n' }],
      [{ $match: { $where: 'true' } }, { $count: 'n' }],
      [{ $project: { v: { $getField: 'n' } } }],
    ] as Document[][])
      expect({ pipeline, fields: pipelineFields(pipeline) }).toEqual({
        pipeline,
        fields: undefined,
      });
  });
});

describe('filterFields', () => {
  it('collects top-level fields through $and/$or/$nor and $expr', () => {
    expect([
      ...filterFields({
        a: 1,
        'b.c': { $gt: 1 },
        $or: [{ d: 1 }, { $and: [{ e: 1 }] }],
        $expr: { $eq: ['$f.g', '$$NOW'] },
        $comment: 'x',
      })!,
    ]).toEqual(['a', 'b', 'd', 'e', 'f']);
    expect(filterFields({ $text: { $search: 'x' } })).toBeUndefined();
  });
});

describe('findDecoding', () => {
  it('decodes a plain field list, exactly the projection when the sort stays inside it', () => {
    expect(findDecoding({ a: 1, b: true }, { a: -1 })).toEqual({
      fields: new Set(['a', 'b', '_id']),
      exact: true,
    });
    expect(findDecoding({ _id: 0, a: 1 }, { 's.t': 1 })).toEqual({
      fields: new Set(['a', 's']),
      exact: false,
    });
    expect(findDecoding(undefined, { a: 1 })).toEqual({ exact: true });
  });

  it('decodes whole documents for exclusions, dotted, positional and operator projections', () => {
    for (const projection of [
      { _id: 0 },
      { a: 0 },
      { 'a.b': 1 },
      { 'a.$': 1 },
      { a: { $slice: 1 } },
    ])
      expect(findDecoding(projection, undefined)).toEqual({ exact: false });
  });
});
