import { setTimeout as sleep } from 'node:timers/promises';
import {
  MongoError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerClosedError,
  MongoServerSelectionError,
} from 'mongodb';
import { type BackoffPolicy, backoffDelay } from '../async/backoff';

/** Server codes of a primary going away or a node shutting down (replica set elections, restarts). */
const UNAVAILABLE_CODES = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  89, // NetworkTimeout
  91, // ShutdownInProgress
  189, // PrimarySteppedDown
  9001, // SocketException
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
]);

/**
 * Whether `error` says the database could not be reached (or had no primary) rather than that it
 * refused the operation: the same operation can succeed once it is back. A closed client is not
 * transient: that is our own shutdown.
 */
export function isTransientDatabaseError(error: unknown, depth = 0): boolean {
  // A bulk write wraps the network error that cut it off (`errorResponse`); others chain a `cause`.
  const { errorResponse, cause } = (error ?? {}) as { errorResponse?: unknown; cause?: unknown };
  if (
    depth < 3 &&
    [errorResponse, cause].some(
      (inner) => inner instanceof Error && isTransientDatabaseError(inner, depth + 1),
    )
  )
    return true;
  if (
    error instanceof MongoNetworkError ||
    error instanceof MongoServerSelectionError ||
    error instanceof MongoServerClosedError ||
    error instanceof MongoNotConnectedError
  )
    return true;
  if (error instanceof MongoError)
    return (
      error.hasErrorLabel('RetryableWriteError') ||
      error.hasErrorLabel('TransientTransactionError') ||
      (typeof error.code === 'number' && UNAVAILABLE_CODES.has(error.code))
    );
  // Mongoose queues operations while disconnected, and fails them after bufferTimeoutMS.
  return error instanceof Error && / buffering timed out after /.test(error.message);
}

/**
 * What the last attempt of one component's retries found (kept across its operations): the
 * failure that said the database is unreachable, or undefined once an operation succeeded.
 */
export class DatabaseReach {
  lastOutage?: unknown;
}

export interface OutageRetryOptions {
  /** Aborted (shutdown): the next failure is thrown instead of waited out. */
  signal: AbortSignal;
  /**
   * Shared by a component's retries: once stopping while the database was last found unreachable,
   * no operation is tried again (each try would wait out server selection, 10 s, one after the
   * other for the work still queued): that failure is thrown.
   */
  reach?: DatabaseReach;
  /** Told before each wait (to log it). */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  policy?: BackoffPolicy;
}

/** How a database outage is waited out: 0.5 s doubling to 15 s. */
export const OUTAGE_BACKOFF: BackoffPolicy = { baseMs: 500, capMs: 15_000 };

/**
 * Runs `operation` until it succeeds, waiting out failures that say the database is unreachable
 * (with backoff), for work that has no other copy to retry from: what the engine handed over once.
 * Other failures, and any failure once `signal` is aborted, are thrown. `operation` must be safe
 * to run again after a failure (the database may have applied it before the connection broke).
 */
export async function retryThroughOutage<T>(
  operation: (attempt: number) => Promise<T>,
  options: OutageRetryOptions,
): Promise<T> {
  const { reach } = options;
  for (let attempt = 1; ; attempt++) {
    if (options.signal.aborted && reach?.lastOutage !== undefined) throw reach.lastOutage;
    try {
      const result = await operation(attempt);
      if (reach) reach.lastOutage = undefined;
      return result;
    } catch (error) {
      const transient = isTransientDatabaseError(error);
      if (reach) reach.lastOutage = transient ? error : undefined; // any other answer: it is up
      if (options.signal.aborted || !transient) throw error;
      const delayMs = backoffDelay(attempt, options.policy ?? OUTAGE_BACKOFF);
      options.onRetry?.(error, attempt, delayMs);
      await sleep(delayMs, undefined, { signal: options.signal }).catch(() => undefined);
    }
  }
}
