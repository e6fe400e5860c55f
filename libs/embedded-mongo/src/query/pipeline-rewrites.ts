import type { Document } from 'bson';

/**
 * Rewrites stages whose mingo implementation disagrees with MongoDB into equivalent stages that
 * mingo gets right. mingo's $bucket puts a value equal to a boundary into the lower bucket and
 * emits empty buckets; MongoDB uses [lower, upper) and emits only non-empty buckets. mingo's
 * $count of an empty input emits `{ n: 0 }`; MongoDB emits nothing.
 */
export function rewritePipeline(stages: Document[]): Document[] {
  return stages.flatMap((stage) => {
    const [name] = Object.keys(stage);
    const spec = stage[name] as Document;
    switch (name) {
      case '$bucket':
        return bucketAsGroup(spec);
      case '$count':
        // MongoDB's own definition: no input, no document (mingo emits a count of 0).
        return typeof spec === 'string'
          ? [{ $group: { _id: null, [spec]: { $sum: 1 } } }, { $project: { _id: 0 } }]
          : [stage];
      case '$facet':
        return [
          {
            $facet: Object.fromEntries(
              Object.entries(spec).map(([key, sub]) => [key, rewritePipeline(sub as Document[])]),
            ),
          },
        ];
      case '$lookup':
      case '$unionWith':
        return Array.isArray(spec?.pipeline)
          ? [{ [name]: { ...spec, pipeline: rewritePipeline(spec.pipeline as Document[]) } }]
          : [stage];
      default:
        return [stage];
    }
  });
}

function bucketAsGroup(spec: Document): Document[] {
  const boundaries = spec.boundaries as unknown[];
  const branches = boundaries.slice(0, -1).map((lower, i) => ({
    case: { $and: [{ $gte: [spec.groupBy, lower] }, { $lt: [spec.groupBy, boundaries[i + 1]] }] },
    then: lower,
  }));
  const bucketOf = {
    $switch: { branches, ...(spec.default !== undefined ? { default: spec.default } : {}) },
  };
  const output = (spec.output as Document | undefined) ?? { count: { $sum: 1 } };
  // Sort buckets in boundary order, with the default bucket last, as MongoDB does.
  const order = { $indexOfArray: [boundaries, '$_id'] };
  return [
    { $group: { _id: bucketOf, ...output } },
    { $set: { __bucketOrder: { $cond: [{ $eq: [order, -1] }, boundaries.length, order] } } },
    { $sort: { __bucketOrder: 1 } },
    { $unset: '__bucketOrder' },
  ];
}
