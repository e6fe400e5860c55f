import { Query } from 'mingo';
import type { Document } from 'bson';
import type { Options } from 'mingo/types';

export type MingoOptions = Partial<Options>;

/** Options shared by every mingo call: MongoDB-strict semantics, `_id` as the key. */
export function mingoOptions(extra: MingoOptions = {}): MingoOptions {
  return { idKey: '_id', useStrictMode: true, scriptEnabled: false, ...extra };
}

export function compileFilter(filter: Document | undefined, options?: MingoOptions): Query {
  return new Query(filter ?? {}, mingoOptions(options));
}
