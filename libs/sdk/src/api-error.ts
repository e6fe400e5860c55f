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

  constructor(status: number, body: unknown, requestId?: string) {
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
  }
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
