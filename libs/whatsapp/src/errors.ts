/**
 * Domain errors of libs/whatsapp. Plain classes (no Nest HttpException):
 * the app's global filter maps `code`/`httpStatus` to the response.
 */
export abstract class WhatsAppError extends Error {
  abstract readonly code: string;
  abstract readonly httpStatus: number;

  constructor(
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class SessionNotFoundError extends WhatsAppError {
  readonly code = 'SESSION_NOT_FOUND';
  readonly httpStatus = 404;
  /** Callers that know the name the client used pass it: the answer names the session by it. */
  constructor(sessionId: string, sessionName?: string) {
    super(
      `WhatsApp session "${sessionName ?? sessionId}" was not found`,
      sessionName === undefined ? { sessionId } : { sessionName },
    );
  }
}

export class SessionAlreadyExistsError extends WhatsAppError {
  readonly code = 'SESSION_EXISTS';
  readonly httpStatus = 409;
  constructor(sessionName: string) {
    super(`A WhatsApp session named "${sessionName}" already exists`, { sessionName });
  }
}

export class SessionNotConnectedError extends WhatsAppError {
  readonly code = 'SESSION_NOT_CONNECTED';
  readonly httpStatus = 409;
  constructor(sessionId: string, status?: string) {
    super(
      `WhatsApp session "${sessionId}" is not connected${status ? ` (status: ${status})` : ''}`,
      { sessionId, status },
    );
  }
}

export class SessionAlreadyConnectedError extends WhatsAppError {
  readonly code = 'SESSION_ALREADY_CONNECTED';
  readonly httpStatus = 409;
  constructor(sessionId: string) {
    super(`WhatsApp session "${sessionId}" is already connected; no QR or pairing code is needed`, {
      sessionId,
    });
  }
}

export class SessionLoggedOutError extends WhatsAppError {
  readonly code = 'SESSION_LOGGED_OUT';
  readonly httpStatus = 409;
  constructor(sessionId: string) {
    super(`WhatsApp session "${sessionId}" is logged out; request a new QR code`, { sessionId });
  }
}

export class SessionLeasedElsewhereError extends WhatsAppError {
  readonly code = 'SESSION_LEASED_ELSEWHERE';
  readonly httpStatus = 409;
  constructor(sessionId: string) {
    super(`WhatsApp session "${sessionId}" is currently run by another instance`, { sessionId });
  }
}

export class QrNotAvailableError extends WhatsAppError {
  readonly code = 'QR_NOT_AVAILABLE';
  readonly httpStatus = 409;
  constructor(sessionId: string, status: string) {
    super(`No QR code is available for session "${sessionId}" right now (status: ${status})`, {
      sessionId,
      status,
    });
  }
}

export class SandboxSessionNotLiveError extends WhatsAppError {
  readonly code = 'SANDBOX_SESSION_NOT_LIVE';
  readonly httpStatus = 404;
  constructor(sessionId: string) {
    super(`Sandbox session "${sessionId}" has no live connection`, { sessionId });
  }
}

export class SandboxInvalidStateError extends WhatsAppError {
  readonly code = 'SANDBOX_INVALID_STATE';
  readonly httpStatus = 409;
  constructor(message: string, sessionId: string) {
    super(message, { sessionId });
  }
}

export class SandboxUnknownMessageError extends WhatsAppError {
  readonly code = 'SANDBOX_UNKNOWN_MESSAGE';
  readonly httpStatus = 404;
  constructor(waMessageId: string) {
    super(`Sandbox does not know message "${waMessageId}"; pass its chatJid`, { waMessageId });
  }
}

export class MediaNotFoundError extends WhatsAppError {
  readonly code = 'MEDIA_NOT_FOUND';
  readonly httpStatus = 404;
  constructor(message = 'The media is no longer available') {
    super(message);
  }
}

export class SandboxInvalidInboundError extends WhatsAppError {
  readonly code = 'SANDBOX_INVALID_INBOUND';
  readonly httpStatus = 400;
  constructor(message: string) {
    super(message);
  }
}

export class InvalidPairingCodeError extends WhatsAppError {
  readonly code = 'INVALID_PAIRING_CODE';
  readonly httpStatus = 400;
  constructor(sessionId: string) {
    super(`Wrong or expired pairing code for sandbox session "${sessionId}"`, { sessionId });
  }
}
