import { ForbiddenError } from '@app/common';

export class SessionLimitReachedError extends ForbiddenError {
  constructor(limit: number) {
    super(
      'SESSION_LIMIT_REACHED',
      `This organization already has the maximum of ${limit} WhatsApp sessions; delete one first`,
    );
  }
}
