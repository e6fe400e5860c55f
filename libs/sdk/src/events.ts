import { ApiError } from './api-error';
import type { components, paths } from './generated/schema';

/** One event of the gateway: `{ id, type, organizationId, sessionName, occurredAt, data }`. */
export type GatewayEvent = components['schemas']['EventEnvelopeDto'];
/**
 * `data` of a `session.status` event; `previousStatus` is null on the session's first one.
 * `if (event.type === 'session.status') { const change = event.data as SessionStatusEventData; }`
 */
export type SessionStatusEventData = components['schemas']['SessionStatusEventDataDto'];
/** `data` of a `session.deleted` event (once per deletion, after the session's logout). */
export type SessionDeletedEventData = components['schemas']['SessionDeletedEventDataDto'];
type StreamQuery = NonNullable<paths['/api/v1/events']['get']['parameters']['query']>;

export interface EventStreamOptions {
  /** Only these event types (comma-separated in the request). */
  types?: Array<GatewayEvent['type']>;
  /** Only events of this session. */
  sessionName?: StreamQuery['sessionName'];
  /** Resume after this event id (the last one handled): the gateway replays what followed. */
  lastEventId?: string;
  /** Ends the stream (the iterator returns). */
  signal?: AbortSignal;
  /**
   * Reconnect when the connection drops, resuming after the last event yielded (default true);
   * also after a 502, 503 or 504 (a gateway restarting behind a proxy) or a 429, waiting at least
   * their Retry-After. Another answer than 200 (401, 403, 400…) is not retried: it throws an ApiError.
   */
  reconnect?: boolean;
  /** First wait before reconnecting, doubled per failed attempt up to 30 s (default 1000 ms). */
  retryDelayMs?: number;
}

export const EVENTS_PATH = '/api/v1/events' as const;
const MAX_RETRY_DELAY_MS = 30_000;
/** Answers of a gateway restarting behind a proxy (502-504) or of a rate limit (429): retried. */
const RETRIED_STATUSES = new Set([429, 502, 503, 504]);

interface StreamContext {
  baseUrl: string;
  fetch: typeof globalThis.fetch;
  headers: () => Record<string, string>;
}

/**
 * The organization's live events (Server-Sent Events, `GET /api/v1/events`) as an async iterator.
 * A `get` of that route would wait for the stream to end; this reads it frame by frame. Each event
 * is yielded once per connection; after a reconnect the gateway resumes after the last id yielded
 * (delivery is at-least-once across reconnects: dedupe by `id`).
 */
export async function* streamEvents(
  context: StreamContext,
  options: EventStreamOptions = {},
): AsyncGenerator<GatewayEvent, void, undefined> {
  const { signal, reconnect = true, retryDelayMs = 1000 } = options;
  let lastEventId = options.lastEventId;
  let base = retryDelayMs; // the server's `retry:` replaces it
  let delay = base;
  while (!signal?.aborted) {
    const query = new URLSearchParams();
    if (options.types?.length) query.set('types', options.types.join(','));
    if (options.sessionName) query.set('sessionName', options.sessionName);
    const url = `${context.baseUrl}${EVENTS_PATH}${query.size ? `?${query}` : ''}`;
    let response: Response;
    try {
      response = await context.fetch(url, {
        headers: {
          ...context.headers(),
          Accept: 'text/event-stream',
          ...(lastEventId ? { 'Last-Event-ID': lastEventId } : {}),
        },
        signal,
      });
    } catch (error) {
      if (signal?.aborted) return;
      if (!reconnect) throw error;
      await sleep(delay, signal);
      delay = Math.min(delay * 2, MAX_RETRY_DELAY_MS);
      continue;
    }
    if (!response.ok || !response.body) {
      const body: unknown = await response.json().catch(() => null);
      const error = new ApiError(
        response.status,
        body,
        response.headers.get('x-request-id') ?? undefined,
        response.headers.get('retry-after'),
      );
      if (!reconnect || !RETRIED_STATUSES.has(response.status)) throw error;
      // A restart behind a proxy, or a limit: wait (at least Retry-After) and connect again.
      await sleep(Math.max(delay, (error.retryAfterSeconds ?? 0) * 1000), signal);
      delay = Math.min(delay * 2, MAX_RETRY_DELAY_MS);
      continue;
    }
    try {
      for await (const frame of sseFrames(response.body)) {
        if (frame.retry !== undefined) base = delay = frame.retry;
        if (!frame.data) continue; // heartbeats (comments) carry none
        const event = JSON.parse(frame.data) as GatewayEvent;
        lastEventId = frame.id ?? event.id;
        delay = base;
        yield event;
      }
    } catch (error) {
      if (signal?.aborted) return;
      if (!reconnect) throw error;
    }
    if (!reconnect || signal?.aborted) return;
    await sleep(delay, signal);
  }
}

interface SseFrame {
  id?: string;
  data?: string;
  retry?: number;
}

/** Parses a text/event-stream body into frames (the fields the gateway sends: id, data, retry). */
export async function* sseFrames(body: ReadableStream<Uint8Array>): AsyncGenerator<SseFrame> {
  const decoder = new TextDecoder();
  let buffer = '';
  let frame: SseFrame = {};
  let data: string[] = [];
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let newline: number;
      while ((newline = buffer.search(/\r\n|\r|\n/)) !== -1) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
        if (line === '') {
          if (data.length) frame.data = data.join('\n');
          if (frame.data !== undefined || frame.retry !== undefined) yield frame;
          frame = {};
          data = [];
          continue;
        }
        if (line.startsWith(':')) continue; // a comment: the heartbeat
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'data') data.push(value);
        else if (field === 'id') frame.id = value;
        else if (field === 'retry' && /^\d+$/.test(value)) frame.retry = Number(value);
      }
    }
  } finally {
    reader.releaseLock();
    await body.cancel().catch(() => undefined);
  }
}

/** Waits `ms`, or until `signal` aborts; leaves no listener on the signal behind. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
