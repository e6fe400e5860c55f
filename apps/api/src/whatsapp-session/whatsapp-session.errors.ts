import { ConflictError } from '@app/common';

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
