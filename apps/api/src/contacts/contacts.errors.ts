import { BadRequestError, ConflictError, NotFoundError } from '@app/common';

export class ContactNotFoundError extends NotFoundError {
  constructor() {
    super('Contact', 'CONTACT_NOT_FOUND');
  }
}

/** An edit sent with the revision it was made from, while the contact has moved on since. */
export class ContactChangedError extends ConflictError {
  constructor(revision: number) {
    super(
      'CONTACT_CHANGED',
      'The contact changed since that revision: read it again and apply your edit to it',
      { revision },
    );
  }
}

/** `POST /contacts/sync` names its session in the body, or (older clients) in the query. */
export class SyncSessionNameError extends BadRequestError {
  constructor(body: string | undefined, query: string | undefined) {
    const message =
      body && query
        ? `sessionName is "${body}" in the body but "${query}" in the query: send it once, in the body`
        : 'sessionName is required in the body, e.g. {"sessionName": "sales-1"}';
    // The shape of the validation pipe's errors, so clients handle both alike.
    super('VALIDATION_FAILED', 'Validation failed', { sessionName: [message] });
  }
}

/** Tags or notes past their limits (see limitViolations), in the validation pipe's shape. */
export class ContactLimitsError extends BadRequestError {
  constructor(violations: Record<string, string[]>) {
    super('VALIDATION_FAILED', 'Validation failed', violations);
  }
}
