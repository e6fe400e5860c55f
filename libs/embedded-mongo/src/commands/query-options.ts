import type { Document } from 'bson';
import type { CollationSpec } from 'mingo/types';
import type { MingoOptions } from '../query/mingo-options';

/** The mingo options a command asks for through `collation` and `let`. */
export function commandQueryOptions(command: Document, spec: Document = command): MingoOptions {
  const options: { collation?: CollationSpec; variables?: Document } = {};
  if (spec.collation) options.collation = spec.collation as CollationSpec;
  if (command.let) options.variables = command.let as Document;
  return options;
}
