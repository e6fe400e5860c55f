import {
  MESSAGE_STATUSES,
  MESSAGE_TYPES,
  isChatMessage,
  statusesBelow,
  type MessageDirection,
  type MessageStatus,
} from '../messaging/message.types';
import { bucketStart, dayKey, type StatsGranularity } from './stats-range';

/** Every message type counted in `byType` (zero-filled in answers); anything else counts as `unknown`. */
export const STATS_MESSAGE_TYPES = MESSAGE_TYPES;
export type StatsMessageType = (typeof STATS_MESSAGE_TYPES)[number];

/** Types that are not a conversational turn: they neither open nor answer a wait for a reply. */
/** Statuses counted as delivered to the recipient's device. */
export const DELIVERED_OR_BETTER: readonly MessageStatus[] = ['delivered', 'read', 'played'];
export const READ_OR_BETTER: readonly MessageStatus[] = ['read', 'played'];
/** Longest failure reason kept; longer ones are cut (reasons are grouped by exact text). */
export const MAX_FAILURE_REASON_LENGTH = 200;
export const TOP_FAILURE_REASONS = 5;

export type ByStatus = Record<MessageStatus, number>;
export type ByType = Record<StatsMessageType, number>;
/** A `$inc` document for a bucket. */
export type CounterIncrement = Record<string, number>;

/** Counter fields of a bucket document as stored (absent = 0). */
export interface BucketCounters {
  sent?: number;
  received?: number;
  byStatus?: Partial<Record<string, number>>;
  byType?: Partial<Record<string, number>>;
  /** Response-time histogram: samples per `responseBin`, counted in the bucket of the inbound message. */
  rt?: Partial<Record<string, number>>;
}

export interface CounterTotals {
  total: number;
  sent: number;
  received: number;
  byStatus: ByStatus;
  byType: ByType;
  /** Summed response-time histogram (bin → samples). */
  rt: Record<string, number>;
}

export const normalizeType = (type: string | undefined): StatsMessageType =>
  (STATS_MESSAGE_TYPES as readonly string[]).includes(type ?? '')
    ? (type as StatsMessageType)
    : 'unknown';

export function normalizeFailureReason(error: string | undefined): string {
  const reason = (error ?? '').replace(/\s+/g, ' ').trim().slice(0, MAX_FAILURE_REASON_LENGTH);
  return reason || 'unknown';
}

/** Deterministic `_id` of the bucket document of one session and bucket start. */
export function bucketId(
  granularity: StatsGranularity,
  organizationId: string,
  sessionName: string,
  start: Date,
): string {
  return `${granularity}|${organizationId}|${sessionName}|${start.toISOString()}`;
}

/** The hour and the day bucket a message (created at `at`) is counted in. */
export function bucketsOf(
  at: Date,
): Array<{ granularity: StatsGranularity; start: Date; day: string }> {
  return [
    { granularity: 'hour', start: bucketStart(at, 'hour'), day: dayKey(at) },
    { granularity: 'day', start: bucketStart(at, 'day'), day: dayKey(at) },
  ];
}

/**
 * What a newly stored message adds: `sent` (outgoing) or `received` (incoming), its type, and for
 * outgoing messages its current delivery status. Incoming messages have no delivery status here.
 */
export function createdIncrement(message: {
  direction: MessageDirection;
  status: MessageStatus;
  type: string;
}): CounterIncrement {
  const inc: CounterIncrement = { [`byType.${normalizeType(message.type)}`]: 1 };
  if (message.direction === 'out') {
    inc.sent = 1;
    inc[`byStatus.${message.status}`] = 1;
  } else {
    inc.received = 1;
  }
  return inc;
}

/** Moves one outgoing message from `previous` to `next` in the bucket of its creation time. */
export function transitionIncrement(
  previous: MessageStatus,
  next: MessageStatus,
): CounterIncrement {
  if (previous === next) return {};
  return { [`byStatus.${previous}`]: -1, [`byStatus.${next}`]: 1 };
}

/** True when `next` is a forward move from `current` (the same rule Messaging applies). */
export const isForwardTransition = (current: MessageStatus, next: MessageStatus): boolean =>
  statusesBelow(next).includes(current);

/** True when the message opens or answers a wait for a reply (1:1 and group chats; not broadcasts or channels). */
export function isConversational(message: { type: string; chatJid: string }): boolean {
  if (!isChatMessage(message)) return false;
  return !message.chatJid.endsWith('@broadcast') && !message.chatJid.endsWith('@newsletter');
}

export const emptyByStatus = (): ByStatus =>
  Object.fromEntries(MESSAGE_STATUSES.map((s) => [s, 0])) as ByStatus;
export const emptyByType = (): ByType =>
  Object.fromEntries(STATS_MESSAGE_TYPES.map((t) => [t, 0])) as ByType;

/** Sums bucket counters; unknown keys are ignored, every known status and type is present. */
export function sumCounters(rows: Iterable<BucketCounters>): CounterTotals {
  const byStatus = emptyByStatus();
  const byType = emptyByType();
  const rt: Record<string, number> = {};
  let sent = 0;
  let received = 0;
  for (const row of rows) {
    sent += row.sent ?? 0;
    received += row.received ?? 0;
    for (const status of MESSAGE_STATUSES) byStatus[status] += row.byStatus?.[status] ?? 0;
    for (const type of STATS_MESSAGE_TYPES) byType[type] += row.byType?.[type] ?? 0;
    for (const [bin, count] of Object.entries(row.rt ?? {}))
      rt[bin] = (rt[bin] ?? 0) + (count ?? 0);
  }
  return { total: sent + received, sent, received, byStatus, byType, rt };
}

const ratio = (part: number, whole: number) =>
  whole === 0 ? 0 : Math.round((part / whole) * 10_000) / 10_000;

/**
 * deliveryRate = (delivered + read + played) / outgoing messages that left `pending`
 * (sent + delivered + read + played + failed); readRate = (read + played) / the same.
 * Pending messages are not yet decided and are left out; 0 when nothing was attempted. 4 decimals.
 */
export function deliveryRates(byStatus: ByStatus): { deliveryRate: number; readRate: number } {
  const attempted =
    byStatus.sent + byStatus.delivered + byStatus.read + byStatus.played + byStatus.failed;
  const delivered = DELIVERED_OR_BETTER.reduce((n, s) => n + byStatus[s], 0);
  const read = READ_OR_BETTER.reduce((n, s) => n + byStatus[s], 0);
  return { deliveryRate: ratio(delivered, attempted), readRate: ratio(read, attempted) };
}

/** Merges per-bucket failure counts and keeps the most frequent (ties by reason, ascending). */
export function topFailureReasons(
  rows: Iterable<{ reason: string; count: number }>,
  limit = TOP_FAILURE_REASONS,
): Array<{ reason: string; count: number }> {
  const merged = new Map<string, number>();
  for (const row of rows) merged.set(row.reason, (merged.get(row.reason) ?? 0) + row.count);
  return [...merged]
    .filter(([, count]) => count > 0)
    .map(([reason, count]) => ({ reason, count }))
    .sort((a, b) => b.count - a.count || (a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : 0))
    .slice(0, limit);
}

/** Which sorted values a median needs: skip `skip`, read `take` (1 for odd n, 2 for even n). */
export function medianWindow(n: number): { skip: number; take: number } | undefined {
  if (n <= 0) return undefined;
  return n % 2 === 1 ? { skip: (n - 1) / 2, take: 1 } : { skip: n / 2 - 1, take: 2 };
}

/** Median of the values `medianWindow` selected (already the middle one or two). */
export function medianOfWindow(middle: number[]): number | null {
  if (middle.length === 0) return null;
  if (middle.length === 1) return middle[0];
  return Math.round((middle[0] + middle[1]) / 2);
}

/** Median of an unsorted list (reference implementation for tests and the full-scan benchmark). */
export function median(values: number[]): number | null {
  const window = medianWindow(values.length);
  if (!window) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return medianOfWindow(sorted.slice(window.skip, window.skip + window.take));
}

/** Bins of the response-time histogram: 0 = under 1 s, then 4 bins per doubling from 1 s; the last is open-ended (≥ ~12 days). */
export const RESPONSE_BIN_COUNT = 81;

/** Histogram bin of a response time (stored on the sample and counted in the bucket, so both always agree). */
export function responseBin(ms: number): number {
  if (!(ms >= 1000)) return 0;
  return Math.min(RESPONSE_BIN_COUNT - 1, 1 + Math.floor(Math.log2(ms / 1000) * 4));
}

/**
 * Where the median's sorted rank(s) fall in a histogram: the bin and the offset inside it. Reading
 * those one or two samples (sorted by responseMs within the bin) gives the exact median while the
 * query only touches one bin's samples.
 */
export function locateMedian(histogram: Record<string, number>): {
  samples: number;
  picks: Array<{ bin: number; offset: number }>;
} {
  const bins = Object.entries(histogram)
    .map(([bin, count]) => ({ bin: Number(bin), count }))
    .filter((b) => b.count > 0)
    .sort((a, b) => a.bin - b.bin);
  const samples = bins.reduce((n, b) => n + b.count, 0);
  const window = medianWindow(samples);
  if (!window) return { samples, picks: [] };
  const ranks = window.take === 1 ? [window.skip] : [window.skip, window.skip + 1];
  const picks = ranks.map((rank) => {
    let below = 0;
    for (const { bin, count } of bins) {
      if (rank < below + count) return { bin, offset: rank - below };
      below += count;
    }
    throw new Error('unreachable: rank within the histogram total');
  });
  return { samples, picks };
}
