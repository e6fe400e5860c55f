import { type Document } from 'bson';
import { ProcessingMode } from 'mingo';
import { Aggregator } from 'mingo/aggregator';
import { ErrorCode, MongoCommandError } from '../errors';
import { pipelineFields } from '../query/dependencies';
import { mingoOptions, pipelineContext, type MingoOptions } from '../query/mingo-options';
import { rewritePipeline } from '../query/pipeline-rewrites';
import type { CommandContext, CommandHandler } from './command-context';
import { writeAggregationOutput } from './aggregate-output';
import { commandQueryOptions } from './query-options';

function aggregate(command: Document, context: CommandContext): Document {
  if (!Array.isArray(command.pipeline))
    throw new MongoCommandError(
      ErrorCode.TypeMismatch,
      "'pipeline' option must be specified as an array",
    );
  if (command.explain)
    throw new MongoCommandError(
      ErrorCode.CommandNotSupported,
      'explain is not supported by embedded-mongo',
    );
  const target = command.aggregate;
  const ns =
    typeof target === 'string' ? `${context.db}.${target}` : `${context.db}.$cmd.aggregate`;
  let stages = rewritePipeline(command.pipeline as Document[]);
  const outputStage =
    stages.length && ('$out' in stages[stages.length - 1] || '$merge' in stages[stages.length - 1])
      ? stages[stages.length - 1]
      : undefined;
  if (outputStage) stages = stages.slice(0, -1);

  // Every document the store hands out is a fresh deserialized copy, so stages may modify their
  // input in place: no cloning, for the pipeline's input or for collections it reads ($lookup...).
  const queryOptions = commandQueryOptions(command);
  const options: MingoOptions = mingoOptions({
    ...queryOptions,
    context: pipelineContext(queryOptions),
    processingMode: ProcessingMode.CLONE_OFF,
    collectionResolver: (name: string) => [
      ...(context.storage.getCollection(context.db, name)?.all() ?? []),
    ],
  });

  const collection =
    typeof target === 'string' ? context.storage.getCollection(context.db, target) : undefined;
  let input: Iterable<Document> = [];
  if (collection) {
    // A leading $match goes through the collection so an index can narrow it. Documents stream
    // into the pipeline, decoded only as far as it reads them when it ends by building new ones.
    const leadingMatch = stages[0]?.$match as Document | undefined;
    if (leadingMatch) stages = stages.slice(1);
    const counted = countingGroup(stages);
    if (counted && !outputStage) {
      // countDocuments: the matches are counted on their bytes, none is decoded or grouped.
      const n = collection.countMatches(leadingMatch ?? {}, options);
      return context.cursors.openCursor(ns, n ? [{ _id: counted.id, [counted.field]: n }] : [], {});
    }
    input = collection.stream(leadingMatch, options, pipelineFields(stages));
  }
  const results = stages.length
    ? (new Aggregator(stages, options).run(input) as Document[])
    : [...input];
  if (outputStage) {
    writeAggregationOutput(context, outputStage, results);
    return context.cursors.openCursor(ns, [], {});
  }
  return context.cursors.openCursor(ns, results, {
    batchSize: (command.cursor as Document | undefined)?.batchSize as number | undefined,
  });
}

/**
 * `[{ $group: { _id: <constant>, <field>: { $sum: 1 } } }]`, what the drivers' countDocuments sends
 * after its $match: the constant and the field, else undefined.
 */
function countingGroup(stages: Document[]): { id: unknown; field: string } | undefined {
  if (stages.length !== 1 || Object.keys(stages[0]).length !== 1) return undefined;
  const group = stages[0].$group as Document | undefined;
  if (!group || typeof group !== 'object') return undefined;
  const entries = Object.entries(group);
  if (entries.length !== 2) return undefined;
  const id = group._id;
  const constant =
    id === null ||
    typeof id === 'number' ||
    typeof id === 'boolean' ||
    (typeof id === 'string' && !id.startsWith('$'));
  const [field, accumulator] = entries.find(([key]) => key !== '_id') ?? [];
  const sumsOne =
    accumulator !== null &&
    typeof accumulator === 'object' &&
    Object.keys(accumulator as Document).length === 1 &&
    (accumulator as Document).$sum === 1;
  return constant && field !== undefined && sumsOne ? { id, field } : undefined;
}

export const aggregateCommands: Record<string, CommandHandler> = { aggregate };
