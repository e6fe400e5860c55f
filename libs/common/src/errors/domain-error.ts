/**
 * Base class for business errors. Services throw these (never HttpException);
 * the global filter maps `status` to the HTTP response.
 */
export class DomainError extends Error {
  /** Extra response headers, e.g. Retry-After. */
  headers?: Record<string, string>;

  constructor(
    readonly code: string,
    message: string,
    readonly status: number = 422,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class NotFoundError extends DomainError {
  constructor(what: string, code = 'NOT_FOUND') {
    super(code, `${what} not found`, 404);
  }
}

export class ConflictError extends DomainError {
  constructor(code: string, message: string, details?: unknown) {
    super(code, message, 409, details);
  }
}

export class ForbiddenError extends DomainError {
  constructor(code: string, message: string) {
    super(code, message, 403);
  }
}

export class BadRequestError extends DomainError {
  constructor(code: string, message: string, details?: unknown) {
    super(code, message, 400, details);
  }
}
