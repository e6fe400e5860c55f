import { ConflictError, DomainError } from '@app/common';

/**
 * 403, as the sessions contract (issue #5) fixes it, with `details.limit` as WEBHOOK_LIMIT_REACHED
 * (a 422, older than this rule) has it.
 */
export class SessionLimitReachedError extends DomainError {
  constructor(limit: number) {
    super(
      'SESSION_LIMIT_REACHED',
      `This organization already has the maximum of ${limit} WhatsApp sessions; delete one first`,
      403,
      { limit },
    );
  }
}

/** A delete of the same name removed the session before its create could start it. */
export class SessionDeletedDuringCreateError extends ConflictError {
  constructor(sessionName: string) {
    super(
      'SESSION_DELETED_DURING_CREATE',
      `WhatsApp session "${sessionName}" was deleted by another request while it was being created; create it again if you still want it`,
      { sessionName },
    );
  }
}
