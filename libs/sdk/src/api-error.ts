import type { components } from './generated/schema';

/** The gateway's one error shape: `{ statusCode, error, code?, message, details?, requestId }`. */
export type ErrorResponse = components['schemas']['ErrorResponseDto'];

/** Thrown for every non-2xx answer; carries the gateway's error body when there is one. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  /** HTTP status. */
  readonly status: number;
  /** Stable machine-readable code (e.g. `SESSION_NOT_FOUND`, `VALIDATION_FAILED`), when the gateway sent one. */
  readonly code?: string;
  /** Extra detail, e.g. per-field validation messages. */
  readonly details?: unknown;
  /** Request id of the failed call (body or X-Request-Id header), for support. */
  readonly requestId?: string;
  /** The parsed error body (an ErrorResponse from the gateway, or whatever a proxy answered). */
  readonly body: ErrorResponse | unknown;
  /**
   * Seconds to wait before retrying, from the Retry-After header of a 429, a 409
   * `IDEMPOTENCY_KEY_IN_USE` or a 503 (an HTTP date counts from now); undefined without one.
   */
  readonly retryAfterSeconds?: number;

  constructor(status: number, body: unknown, requestId?: string, retryAfter?: string | null) {
    const shaped = isErrorResponse(body) ? body : undefined;
    super(
      shaped?.message ??
        `HTTP ${status}${typeof body === 'string' && body ? `: ${body.slice(0, 200)}` : ''}`,
    );
    this.status = status;
    this.body = body;
    this.code = shaped?.code;
    this.details = shaped?.details;
    this.requestId = shaped?.requestId || requestId;
    this.retryAfterSeconds = retryAfterSeconds(retryAfter);
  }
}

/** A Retry-After value (delta-seconds or an HTTP date) in seconds from now. */
function retryAfterSeconds(value: string | null | undefined): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

export function isErrorResponse(body: unknown): body is ErrorResponse {
  const candidate = body as Partial<ErrorResponse> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.statusCode === 'number' &&
    typeof candidate.message === 'string'
  );
}
