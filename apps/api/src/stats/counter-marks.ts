import { bucketId, bucketsOf, type CounterIncrement } from './stats-counters';
import type { StatsGranularity } from './stats-range';

/**
 * One change to the counters and the marker that applies it once: `<message id>:created`,
 * `<message id>:<status>` (a status is reached once), or `note:<id>` (received messages of one
 * ingest batch). The change is first recorded, pending, with its claim (state row or note claim);
 * a bucket takes it only while the marker is not in its `applied` list, and records it there in
 * the same atomic update. The claim is then cleared and the markers pulled, so a crash at any
 * point is finished by the replay exactly once.
 */
export interface MarkedIncrement {
  organizationId: string;
  sessionName: string;
  /** A time in the hour (and so the day) whose buckets the change is counted in. */
  at: Date;
  inc: CounterIncrement;
  /** A failure reason counted with the change. */
  reason?: string;
  marker: string;
}

/** A counter document's marked upsert: the folded change of several markers, and each one's part. */
export interface MarkedUpsert {
  _id: string;
  setOnInsert: Record<string, unknown>;
  inc: CounterIncrement;
  markers: string[];
  parts: Array<{ marker: string; inc: CounterIncrement }>;
}

const add = (into: CounterIncrement, inc: CounterIncrement) => {
  for (const [field, n] of Object.entries(inc)) into[field] = (into[field] ?? 0) + n;
};

function fold(
  docs: Map<string, MarkedUpsert>,
  _id: string,
  setOnInsert: Record<string, unknown>,
  marker: string,
  inc: CounterIncrement,
) {
  let doc = docs.get(_id);
  if (!doc) docs.set(_id, (doc = { _id, setOnInsert, inc: {}, markers: [], parts: [] }));
  add(doc.inc, inc);
  if (!doc.markers.includes(marker)) doc.markers.push(marker);
  const part = doc.parts.find((p) => p.marker === marker);
  if (part) add(part.inc, inc);
  else doc.parts.push({ marker, inc: { ...inc } });
}

/** The bucket upserts (hour and day of each change), one per bucket document. */
export function markedBucketUpserts(items: Iterable<MarkedIncrement>): MarkedUpsert[] {
  const docs = new Map<string, MarkedUpsert>();
  for (const { organizationId, sessionName, at, inc, marker } of items) {
    if (Object.keys(inc).length === 0) continue;
    for (const { granularity, start, day } of bucketsOf(at))
      fold(
        docs,
        bucketId(granularity, organizationId, sessionName, start),
        { organizationId, sessionName, granularity, bucket: start, day },
        marker,
        inc,
      );
  }
  return [...docs.values()];
}

/** The failure-reason upserts (hour and day of each change with a reason), one per document. */
export function markedFailureUpserts(items: Iterable<MarkedIncrement>): MarkedUpsert[] {
  const docs = new Map<string, MarkedUpsert>();
  for (const { organizationId, sessionName, at, reason, marker } of items) {
    if (!reason) continue;
    for (const { granularity, start, day } of bucketsOf(at))
      fold(
        docs,
        failureId(granularity, organizationId, sessionName, start, reason),
        { organizationId, sessionName, granularity, bucket: start, day, reason },
        marker,
        { count: 1 },
      );
  }
  return [...docs.values()];
}

/** Deterministic `_id` of a failure-reason document. */
export const failureId = (
  granularity: StatsGranularity,
  organizationId: string,
  sessionName: string,
  start: Date,
  reason: string,
): string => `${granularity}|${organizationId}|${sessionName}|${start.toISOString()}|${reason}`;
