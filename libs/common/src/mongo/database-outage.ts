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
 * Node's codes of a connection the other end closed or reset. The driver passes the failed write
 * of a socket the server closed on unwrapped (not as a MongoNetworkError): an outage all the same.
 */
const BROKEN_SOCKET_CODES = new Set(['EPIPE', 'ECONNRESET']);

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
  if (!(error instanceof Error)) return false;
  if (BROKEN_SOCKET_CODES.has((error as NodeJS.ErrnoException).code ?? '')) return true;
  // Mongoose queues operations while disconnected, and fails them after bufferTimeoutMS.
  return / buffering timed out after /.test(error.message);
}

/** How a database outage is waited out: 0.5 s doubling to 15 s. */
export const OUTAGE_BACKOFF: BackoffPolicy = { baseMs: 500, capMs: 15_000 };

/** Where a component's retries say that they wait (a Nest Logger or a pino logger). */
export interface OutageLog {
  warn(fields: object, message: string): void;
}

/**
 * One component's retries through database outages, for work that has no other copy to retry
 * from (what the engine handed over once): failures that say the database is unreachable are
 * waited out with backoff; other failures are thrown. `stop()` (shutdown) ends the waits: what
 * waited is tried once more (the database may be back: the shutdown pinged it first, and
 * force-closed the connection if it did not answer, so that try fails at once), the next failure
 * is thrown, and once a try after the stop found the database unreachable, no operation is tried
 * again (each try would wait out server selection, 10 s, one after the other for the work still
 * queued): that failure is thrown at once.
 */
export class OutageRetries {
  private readonly stopping = new AbortController();
  /** The failure that last said the database is unreachable; undefined once it answered. */
  private lastOutage?: unknown;

  constructor(
    private readonly log?: OutageLog,
    private readonly policy: BackoffPolicy = OUTAGE_BACKOFF,
  ) {}

  /** The database was unreachable at the last try (any answer, even a refusal, clears it). */
  get unreachable(): boolean {
    return this.lastOutage !== undefined;
  }

  stop(): void {
    this.stopping.abort();
    // An outage found before says nothing of now (see the class): what waited tries once more.
    this.lastOutage = undefined;
  }

  /**
   * Runs `operation` until it succeeds (see the class). `operation` must be safe to run again after
   * a failure: the database may have applied it before the connection broke. Each wait is logged
   * as a warning: `waiting` with `fields`, the error, the attempt and the delay.
   */
  async run<T>(
    operation: (attempt: number) => Promise<T>,
    waiting: string,
    fields: object = {},
  ): Promise<T> {
    const { signal } = this.stopping;
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted && this.lastOutage !== undefined) throw this.lastOutage;
      try {
        const result = await operation(attempt);
        this.lastOutage = undefined;
        return result;
      } catch (err) {
        const transient = isTransientDatabaseError(err);
        this.lastOutage = transient ? err : undefined; // any other answer: it is up
        if (signal.aborted || !transient) throw err;
        const delayMs = backoffDelay(attempt, this.policy);
        this.log?.warn({ ...fields, err, attempt, delayMs }, waiting);
        await sleep(delayMs, undefined, { signal }).catch(() => undefined);
      }
    }
  }
}
