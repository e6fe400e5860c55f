import { BadRequestError, ConflictError, DomainError, NotFoundError } from '@app/common';

export class MessageNotFoundError extends NotFoundError {
  constructor() {
    super('Message', 'MESSAGE_NOT_FOUND');
  }
}

export class ChatNotFoundError extends DomainError {
  constructor(chatJid: string) {
    super('CHAT_NOT_FOUND', `No chat ${chatJid} in this session`, 404, { chatJid });
  }
}

export class MediaNotStoredError extends NotFoundError {
  constructor() {
    super('Media of this message', 'MEDIA_NOT_FOUND');
  }
}

/** A send that failed for good no longer keeps its media (see MessageStatusService). */
export class MediaDiscardedError extends DomainError {
  constructor() {
    super(
      'MEDIA_DISCARDED',
      'The media of this message was deleted when the message failed to send',
      410,
    );
  }
}

/** The session's link is gone: what needs WhatsApp (`consequence` says what) cannot happen. */
export class SessionLoggedOutError extends ConflictError {
  constructor(sessionName: string, consequence: string) {
    super('SESSION_LOGGED_OUT', `Session '${sessionName}' is logged out; ${consequence}`);
  }
}

export class InvalidIdempotencyKeyError extends BadRequestError {
  constructor() {
    super('INVALID_IDEMPOTENCY_KEY', 'Idempotency-Key must be 1-255 visible ASCII characters');
  }
}

/** RFC draft "The Idempotency-Key HTTP Header Field": a key reused with another payload is a 422. */
export class IdempotencyKeyReusedError extends DomainError {
  constructor(key: string) {
    super(
      'IDEMPOTENCY_KEY_REUSED',
      'This Idempotency-Key was already used with a different request in the last 24 h; use a new key for a new message',
      422,
      { idempotencyKey: key },
    );
  }
}

/** RFC draft "The Idempotency-Key HTTP Header Field": a request still being processed is a 409. */
export class IdempotencyKeyInUseError extends ConflictError {
  constructor(key: string) {
    super(
      'IDEMPOTENCY_KEY_IN_USE',
      'A request with this Idempotency-Key is still being processed; retry shortly',
      { idempotencyKey: key },
    );
    this.headers = { 'Retry-After': '1' };
  }
}

export class ReplyTargetNotFoundError extends BadRequestError {
  constructor() {
    super(
      'REPLY_TARGET_NOT_FOUND',
      'replyTo must be the id of a sent or received message of the same session (not a reaction, edit or revoke)',
    );
  }
}

export class ReplyTargetRevokedError extends BadRequestError {
  constructor() {
    super('REPLY_TARGET_REVOKED', 'replyTo names a message that was deleted for everyone');
  }
}

export class MediaFetchError extends BadRequestError {
  constructor(reason: string) {
    super('MEDIA_FETCH_FAILED', `Could not fetch media.url: ${reason}`);
  }
}

/** Query parameters that each make sense alone but contradict each other. */
export class MessageQueryConflictError extends BadRequestError {
  constructor(code: 'MESSAGES_RANGE_INVALID' | 'MESSAGES_PAGE_WITH_CURSOR', message: string) {
    super(code, message);
  }
}
