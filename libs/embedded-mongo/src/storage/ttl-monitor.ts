import { deserialize, type Document } from 'bson';
import { COMPLEX, readTopLevelField, STORED_DOCUMENT_OPTIONS } from './bson-reader';
import { valuesAtPath } from './index-key';
import type { StorageEngine } from './storage-engine';

/**
 * Deletes documents whose TTL-indexed date is older than `expireAfterSeconds`, like mongod's TTL
 * monitor (of a partial index, only those its filter holds). For an array of dates the earliest one counts; non-date values never expire. A top-level
 * field is read straight from each document's BSON; only expired documents are deserialized.
 */
export function removeExpiredDocuments(storage: StorageEngine, now = Date.now()): number {
  let removed = 0;
  for (const collection of storage.allCollections()) {
    for (const index of collection.secondaryIndexes()) {
      const seconds = index.spec.expireAfterSeconds;
      if (typeof seconds !== 'number' || index.fields.length !== 1) continue;
      const cutoff = now - seconds * 1000;
      const field = index.fields[0];
      // A partial index expires only the documents its filter holds (those it has keys for).
      const expired = collection
        .filterRaw((bytes) => isExpired(bytes, field, cutoff))
        .filter((document) => index.entriesFor(document).length > 0);
      for (const document of expired) collection.remove(document);
      removed += expired.length;
    }
  }
  if (removed > 0) storage.commit();
  return removed;
}

function isExpired(bytes: Buffer, field: string, cutoff: number): boolean {
  const value = field.includes('.') ? COMPLEX : readTopLevelField(bytes, field);
  if (value instanceof Date) return value.getTime() <= cutoff;
  if (value !== COMPLEX) return false;
  const document: Document = deserialize(bytes, STORED_DOCUMENT_OPTIONS);
  const dates = valuesAtPath(document, field).filter(
    (candidate): candidate is Date => candidate instanceof Date,
  );
  return dates.length > 0 && Math.min(...dates.map((date) => date.getTime())) <= cutoff;
}
