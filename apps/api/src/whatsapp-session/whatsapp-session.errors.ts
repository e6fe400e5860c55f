import { ConflictError, DomainError } from '@app/common';

/** A limit of the configuration reached: 422 with `details.limit`, as WEBHOOK_LIMIT_REACHED. */
export class SessionLimitReachedError extends DomainError {
  constructor(limit: number) {
    super(
      'SESSION_LIMIT_REACHED',
      `This organization already has the maximum of ${limit} WhatsApp sessions; delete one first`,
      422,
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
