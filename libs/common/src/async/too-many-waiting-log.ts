/** Where a queue reports what it refused (a Nest Logger or a pino logger). */
export interface RefusalLog {
  error(fields: object, message: string): void;
}

export interface WaitingBacklog {
  /** The queue's `maxHeld`, logged as `limit`. */
  limit: number;
  /** What waits, in the plural: 'contacts'. */
  waiting: string;
  /** What is lost meanwhile: 'further contacts'. */
  dropped: string;
}

/**
 * The `onFull` of a per-session KeyedCoalescingQueue whose rounds wait for the database (an outage
 * holds a round): one error per session and round, with the fields operators search for,
 * `{ sessionId, limit }`, and "Too many <waiting> waiting for the database: <dropped> are dropped
 * until those are written".
 */
export function logTooManyWaiting(
  log: RefusalLog,
  { limit, waiting, dropped }: WaitingBacklog,
): (sessionId: string) => void {
  const message = `Too many ${waiting} waiting for the database: ${dropped} are dropped until those are written`;
  return (sessionId) => log.error({ sessionId, limit }, message);
}
