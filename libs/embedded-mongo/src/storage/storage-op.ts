import type { Document } from 'bson';
import type { IndexSpec } from './index-manager';

/**
 * A physical change to the store: what the journal records and what replay re-applies. A recorded
 * `put` carries the document's BSON (`bytes`), so the journal writes it without serializing again.
 */
export type StorageOp =
  | { op: 'put'; db: string; coll: string; doc: Document; bytes?: Uint8Array }
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
