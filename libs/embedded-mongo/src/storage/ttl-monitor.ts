import type { StorageEngine } from './storage-engine';
import { valuesAtPath } from './index-key';

/**
 * Deletes documents whose TTL-indexed date is older than `expireAfterSeconds`, like mongod's TTL
 * monitor. For an array of dates the earliest one counts; non-date values never expire.
 */
export function removeExpiredDocuments(storage: StorageEngine, now = Date.now()): number {
  let removed = 0;
  for (const collection of storage.allCollections()) {
    for (const index of collection.secondaryIndexes()) {
      const seconds = index.spec.expireAfterSeconds;
      if (typeof seconds !== 'number' || index.fields.length !== 1) continue;
      const cutoff = now - seconds * 1000;
      const expired = [...collection.all()].filter((document) => {
        const dates = valuesAtPath(document, index.fields[0]).filter(
          (value): value is Date => value instanceof Date,
        );
        return dates.length > 0 && Math.min(...dates.map((date) => date.getTime())) <= cutoff;
      });
      for (const document of expired) collection.remove(document);
      removed += expired.length;
    }
  }
  if (removed > 0) storage.commit();
  return removed;
}
