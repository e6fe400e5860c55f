import { BadRequestError, DomainError, ForbiddenError } from '@app/common';

export class StreamUnauthorizedError extends DomainError {
  constructor() {
    super(
      'UNAUTHORIZED',
      'Missing, invalid or expired access token (send Authorization: Bearer, or ?access_token= from POST /api/v1/events/token)',
      401,
    );
  }
}

export class StreamModuleDisabledError extends ForbiddenError {
  constructor() {
    super('MODULE_DISABLED', "The 'whatsapp' module is not enabled for this organization");
  }
}

export class InvalidLastEventIdError extends BadRequestError {
  constructor() {
    super(
      'INVALID_LAST_EVENT_ID',
      'Last-Event-ID must be an event id (24 hex characters) received from this stream or a webhook',
    );
  }
}
