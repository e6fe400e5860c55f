/** Tunables of the outbox and the SSE stream (defaults for production; e2e tests may lower them on the instance). */
export interface EventsOptions {
  /** SSE heartbeat comment interval. */
  heartbeatMs: number;
  /** How often to look for events whose webhook fan-out was interrupted (crash). */
  fanoutRecoveryIntervalMs: number;
  /** Only events older than this are recovered (younger ones are still being fanned out). */
  fanoutRecoveryGraceMs: number;
  /** How often live streams read events other instances wrote. */
  tailPollMs: number;
  /** A sequence number missing this long (its writer crashed or failed) is skipped by live streams. */
  tailGapTimeoutMs: number;
  /** Largest group of queued events written in one insert. */
  maxBatch: number;
  /** An SSE client this far behind (bytes buffered) is disconnected; it resumes with Last-Event-ID. */
  maxStreamBufferBytes: number;
}

export const EVENTS_OPTIONS = Symbol('EVENTS_OPTIONS');

export const defaultEventsOptions = (): EventsOptions => ({
  heartbeatMs: 15_000,
  fanoutRecoveryIntervalMs: 5_000,
  fanoutRecoveryGraceMs: 5_000,
  tailPollMs: 500,
  tailGapTimeoutMs: 5_000,
  maxBatch: 256,
  maxStreamBufferBytes: 4 * 1024 * 1024,
});
