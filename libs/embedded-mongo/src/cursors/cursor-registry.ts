import { calculateObjectSize, Long, type Document } from 'bson';
import { MAX_DOCUMENT_BYTES, tooLargeToReturn } from '../document-size';
import { ErrorCode, MongoCommandError } from '../errors';

/** Replies must stay under the 16 MiB BSON limit; keep headroom for the envelope. */
const MAX_BATCH_BYTES = MAX_DOCUMENT_BYTES - 64 * 1024;
const DEFAULT_FIRST_BATCH = 101;
export const CURSOR_IDLE_TIMEOUT_MS = 10 * 60 * 1000;

interface OpenCursor {
  ns: string;
  documents: Document[];
  position: number;
  lastUsed: number;
  /** `noCursorTimeout`: never reaped for idleness. */
  noTimeout: boolean;
}

export interface BatchOptions {
  batchSize?: number;
  singleBatch?: boolean;
  noCursorTimeout?: boolean;
}

/** Server-side cursors: results are materialised once and handed out in size-bounded batches. */
export class CursorRegistry {
  private readonly cursors = new Map<number, OpenCursor>();
  // Starting at a random point keeps ids from different server runs apart.
  private nextId = Math.floor(Math.random() * 2 ** 40) + 1;

  /** Builds the `{ cursor: { firstBatch, id, ns } }` reply, registering a cursor if documents remain. */
  openCursor(ns: string, documents: Document[], options: BatchOptions = {}): Document {
    const cursor: OpenCursor = {
      ns,
      documents,
      position: 0,
      lastUsed: Date.now(),
      noTimeout: options.noCursorTimeout === true,
    };
    const firstBatch = takeBatch(cursor, options.batchSize ?? DEFAULT_FIRST_BATCH);
    let id = 0;
    if (!options.singleBatch && cursor.position < documents.length) {
      id = this.nextId++;
      this.cursors.set(id, cursor);
    }
    return { cursor: { firstBatch, id: Long.fromNumber(id), ns } };
  }

  getMore(id: number, collectionNs: string, batchSize?: number): Document {
    const cursor = this.cursors.get(id);
    if (!cursor) throw new MongoCommandError(ErrorCode.CursorNotFound, `cursor id ${id} not found`);
    if (cursor.ns !== collectionNs) {
      throw new MongoCommandError(
        ErrorCode.Unauthorized,
        `Requested getMore on namespace '${collectionNs}', but cursor belongs to a different namespace ${cursor.ns}`,
      );
    }
    cursor.lastUsed = Date.now();
    let nextBatch: Document[];
    try {
      nextBatch = takeBatch(cursor, batchSize && batchSize > 0 ? batchSize : Infinity);
    } catch (error) {
      this.cursors.delete(id); // as mongod, a cursor that failed is gone
      throw error;
    }
    const exhausted = cursor.position >= cursor.documents.length;
    if (exhausted) this.cursors.delete(id);
    return { cursor: { nextBatch, id: Long.fromNumber(exhausted ? 0 : id), ns: cursor.ns } };
  }

  kill(ids: number[]): Document {
    const killed: Long[] = [];
    const notFound: Long[] = [];
    for (const id of ids) (this.cursors.delete(id) ? killed : notFound).push(Long.fromNumber(id));
    return {
      cursorsKilled: killed,
      cursorsNotFound: notFound,
      cursorsAlive: [],
      cursorsUnknown: [],
    };
  }

  /** Drops cursors nobody has read for the idle timeout (but noCursorTimeout ones), like mongod's cursor reaper. */
  reapIdle(now = Date.now(), timeoutMs = CURSOR_IDLE_TIMEOUT_MS): void {
    for (const [id, cursor] of this.cursors)
      if (!cursor.noTimeout && now - cursor.lastUsed > timeoutMs) this.cursors.delete(id);
  }

  get openCount(): number {
    return this.cursors.size;
  }

  clear(): void {
    this.cursors.clear();
  }
}

/**
 * The next documents, as many as fit one reply (a batch always holds at least one); a single
 * document over the BSON limit (an aggregation result) is an error, as in MongoDB.
 */
function takeBatch(cursor: OpenCursor, batchSize: number): Document[] {
  const batch: Document[] = [];
  let bytes = 0;
  while (batch.length < batchSize && cursor.position < cursor.documents.length) {
    const document = cursor.documents[cursor.position];
    const size = calculateObjectSize(document);
    if (size > MAX_DOCUMENT_BYTES) throw tooLargeToReturn(size);
    bytes += size + 16;
    if (bytes > MAX_BATCH_BYTES && batch.length > 0) break;
    batch.push(document);
    cursor.position++;
  }
  return batch;
}
