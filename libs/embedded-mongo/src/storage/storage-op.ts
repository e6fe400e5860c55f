import type { Document } from 'bson';
import type { IndexSpec } from './index-manager';

/** A physical change to the store: what the journal records and what replay re-applies. */
export type StorageOp =
  | { op: 'put'; db: string; coll: string; doc: Document }
  | { op: 'delete'; db: string; coll: string; id: unknown }
  | { op: 'createCollection'; db: string; coll: string; options: Document }
  | { op: 'dropCollection'; db: string; coll: string }
  | { op: 'createIndex'; db: string; coll: string; spec: IndexSpec }
  | { op: 'dropIndex'; db: string; coll: string; name: string }
  | { op: 'dropDatabase'; db: string };

/** Receives every change as it is applied in memory; `commit` marks the end of one command. */
export interface WriteRecorder {
  record(op: StorageOp): void;
  commit(): void;
}

export const discardingRecorder: WriteRecorder = {
  record: () => undefined,
  commit: () => undefined,
};
