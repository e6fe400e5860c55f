import { type Document } from 'bson';
import { Aggregator, ProcessingMode } from 'mingo';
import { ErrorCode, MongoCommandError } from '../errors';
import { cloneDocument } from '../query/clone';
import { mingoOptions, type MingoOptions } from '../query/mingo-options';
import { rewritePipeline } from '../query/pipeline-rewrites';
import type { CommandContext, CommandHandler } from './command-context';
import { writeAggregationOutput } from './aggregate-output';
import { commandQueryOptions } from './query-options';

// Stages that only read their input documents. Any other stage (e.g. $set, $addFields) may write
// into them in place, so the pipeline then runs on copies of the stored documents.
const READ_ONLY_STAGES = new Set([
  '$match',
  '$sort',
  '$limit',
  '$skip',
  '$count',
  '$group',
  '$sortByCount',
  '$bucket',
  '$bucketAuto',
  '$unwind',
  '$lookup',
  '$sample',
  '$project',
  '$replaceRoot',
  '$replaceWith',
  '$redact',
  '$unionWith',
  '$facet',
  '$documents',
]);

function isReadOnly(pipeline: Document[]): boolean {
  return pipeline.every((stage) => {
    const [name] = Object.keys(stage);
    if (!READ_ONLY_STAGES.has(name)) return false;
    const spec = stage[name] as Document;
    if (name === '$facet') return Object.values(spec).every((sub) => isReadOnly(sub as Document[]));
    if ((name === '$lookup' || name === '$unionWith') && Array.isArray(spec?.pipeline))
      return isReadOnly(spec.pipeline as Document[]);
    return true;
  });
}

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

  const readOnly = isReadOnly(stages);
  const options: MingoOptions = mingoOptions({
    ...commandQueryOptions(command),
    processingMode: readOnly ? ProcessingMode.CLONE_OFF : ProcessingMode.CLONE_INPUT,
    collectionResolver: (name: string) => {
      const documents = [...(context.storage.getCollection(context.db, name)?.all() ?? [])];
      return readOnly ? documents : documents.map(cloneDocument);
    },
  });

  const collection =
    typeof target === 'string' ? context.storage.getCollection(context.db, target) : undefined;
  let input: Document[] = [];
  if (collection) {
    // A leading $match goes through the collection so an index can narrow it.
    const leadingMatch = stages[0]?.$match as Document | undefined;
    input = leadingMatch ? collection.match(leadingMatch, options) : [...collection.all()];
    if (leadingMatch) stages = stages.slice(1);
  }
  const results = stages.length
    ? (new Aggregator(stages, options).run(input) as Document[])
    : input;
  if (outputStage) {
    writeAggregationOutput(context, outputStage, results);
    return context.cursors.openCursor(ns, [], {});
  }
  return context.cursors.openCursor(ns, results, {
    batchSize: (command.cursor as Document | undefined)?.batchSize as number | undefined,
  });
}

export const aggregateCommands: Record<string, CommandHandler> = { aggregate };
