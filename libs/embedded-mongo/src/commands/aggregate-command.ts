import { type Document } from 'bson';
import { Aggregator, ProcessingMode } from 'mingo';
import { ErrorCode, MongoCommandError } from '../errors';
import { pipelineFields } from '../query/dependencies';
import { mingoOptions, type MingoOptions } from '../query/mingo-options';
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
  const options: MingoOptions = mingoOptions({
    ...commandQueryOptions(command),
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

export const aggregateCommands: Record<string, CommandHandler> = { aggregate };
