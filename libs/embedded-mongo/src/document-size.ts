import { calculateObjectSize, serialize, type Document } from 'bson';
import { ErrorCode, MongoCommandError } from './errors';

/** MongoDB's BSONObjMaxUserSize: no stored document, and no single result document, is larger. */
export const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024;
/** BSONObjMaxInternalSize: a reply may hold a maximal document plus its envelope. */
export const MAX_REPLY_BYTES = MAX_DOCUMENT_BYTES + 16 * 1024;

export type StoreKind = 'insert' | 'update' | 'upsert';

/** The error MongoDB gives when a write would store a document over the limit. */
export function tooLargeToStore(kind: StoreKind, size: number): MongoCommandError {
  if (kind === 'update')
    return new MongoCommandError(
      ErrorCode.UpdatedDocumentTooLarge,
      `Resulting document after update is larger than ${MAX_DOCUMENT_BYTES}`,
    );
  if (kind === 'upsert')
    return new MongoCommandError(
      ErrorCode.UpsertedDocumentTooLarge,
      `Document to upsert is larger than ${MAX_DOCUMENT_BYTES}`,
    );
  return new MongoCommandError(
    ErrorCode.BadValue,
    `object to insert too large. size in bytes: ${size}, max size: ${MAX_DOCUMENT_BYTES}`,
  );
}

/** The error MongoDB gives for a result document (or reply) too large to send. */
export function tooLargeToReturn(size: number): MongoCommandError {
  return new MongoCommandError(
    ErrorCode.BSONObjectTooLarge,
    `BSONObj size: ${size} (0x${size.toString(16).toUpperCase()}) is invalid. Size must be between 0 and ${MAX_REPLY_BYTES}(16MB)`,
  );
}

/**
 * The BSON of a document about to be stored, refused over the limit. bson's serializer writes into
 * a 17 MiB buffer: past it, it throws a RangeError or silently truncates strings (the result is
 * then still over the limit), so the exact size is computed only for the error message.
 */
export function serializeToStore(document: Document, kind: StoreKind): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = serialize(document);
  } catch (error) {
    if (error instanceof RangeError) throw tooLargeToStore(kind, calculateObjectSize(document));
    throw error;
  }
  if (bytes.length > MAX_DOCUMENT_BYTES) throw tooLargeToStore(kind, calculateObjectSize(document));
  return bytes;
}
