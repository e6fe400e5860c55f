/**
 * Domain errors of libs/whatsapp. Plain classes (no Nest HttpException):
 * the app's global filter maps `code`/`httpStatus` to the response.
 */
import type { RelayedError } from './session-state/holder-request';
import { sessionNameOf, type WaSessionStatus } from './session-state/session-state';

/** `details` of an error about one session: the name the client knows it by, its id for the logs. */
const aboutSession = (sessionId: string, extra: Record<string, unknown> = {}) => ({
  sessionName: sessionNameOf(sessionId),
  sessionId,
  ...extra,
});

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
  constructor(sessionId: string) {
    super(`WhatsApp session "${sessionNameOf(sessionId)}" was not found`, aboutSession(sessionId));
  }
}

export class SessionAlreadyExistsError extends WhatsAppError {
  readonly code = 'SESSION_EXISTS';
  readonly httpStatus = 409;
  constructor(sessionName: string) {
    super(`A WhatsApp session named "${sessionName}" already exists`, { sessionName });
  }
}

/**
 * 403, as the sessions contract (issue #5) fixes it, with `details.limit` as WEBHOOK_LIMIT_REACHED
 * (a 422, older than this rule) has it.
 */
export class SessionLimitReachedError extends WhatsAppError {
  readonly code = 'SESSION_LIMIT_REACHED';
  readonly httpStatus = 403;
  constructor(limit: number) {
    super(
      `This organization already has the maximum of ${limit} WhatsApp sessions; delete one first`,
      { limit },
    );
  }
}

export class SessionNotConnectedError extends WhatsAppError {
  readonly code = 'SESSION_NOT_CONNECTED';
  readonly httpStatus = 409;
  /** `status`: the session's public status (SessionResponseDto's), when known. */
  constructor(sessionId: string, status?: WaSessionStatus) {
    super(
      `WhatsApp session "${sessionNameOf(sessionId)}" is not connected${status ? ` (status: ${status})` : ''}`,
      aboutSession(sessionId, { status }),
    );
  }
}

export class SessionAlreadyConnectedError extends WhatsAppError {
  readonly code = 'SESSION_ALREADY_CONNECTED';
  readonly httpStatus = 409;
  constructor(sessionId: string) {
    super(
      `WhatsApp session "${sessionNameOf(sessionId)}" is already connected; no QR or pairing code is needed`,
      aboutSession(sessionId),
    );
  }
}

export class SessionLeasedElsewhereError extends WhatsAppError {
  readonly code = 'SESSION_LEASED_ELSEWHERE';
  readonly httpStatus = 409;
  constructor(sessionId: string) {
    super(
      `WhatsApp session "${sessionNameOf(sessionId)}" is currently run by another instance`,
      aboutSession(sessionId),
    );
  }
}

export class QrNotAvailableError extends WhatsAppError {
  readonly code = 'QR_NOT_AVAILABLE';
  readonly httpStatus = 409;
  constructor(sessionId: string, status: string) {
    super(
      `No QR code is available for session "${sessionNameOf(sessionId)}" right now (status: ${status})`,
      aboutSession(sessionId, { status }),
    );
  }
}

export class SandboxSessionNotLiveError extends WhatsAppError {
  readonly code = 'SANDBOX_SESSION_NOT_LIVE';
  readonly httpStatus = 404;
  constructor(sessionId: string) {
    super(
      `Sandbox session "${sessionNameOf(sessionId)}" has no live connection`,
      aboutSession(sessionId),
    );
  }
}

export class SandboxInvalidStateError extends WhatsAppError {
  readonly code = 'SANDBOX_INVALID_STATE';
  readonly httpStatus = 409;
  constructor(message: string, sessionId: string) {
    super(message, aboutSession(sessionId));
  }
}

export class SandboxUnknownMessageError extends WhatsAppError {
  readonly code = 'SANDBOX_UNKNOWN_MESSAGE';
  readonly httpStatus = 404;
  /** `reason`: why the back-end could not find the message or its recipient. */
  constructor(waMessageId: string, reason?: string) {
    super(
      reason
        ? `Cannot send a receipt for message "${waMessageId}": ${reason}`
        : `Sandbox does not know message "${waMessageId}" and no chat was given`,
      { waMessageId },
    );
  }
}

export class MediaNotFoundError extends WhatsAppError {
  readonly code = 'MEDIA_NOT_FOUND';
  readonly httpStatus = 404;
  constructor(message = 'The media is no longer available') {
    super(message);
  }
}

export class MediaExceedsLimitError extends WhatsAppError {
  readonly code = 'MEDIA_TOO_LARGE';
  readonly httpStatus = 413;
  constructor(readonly limit: number) {
    super(`The media is larger than the ${limit} bytes allowed; the download stopped there`);
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
    super(
      `Wrong or expired pairing code for sandbox session "${sessionNameOf(sessionId)}"`,
      aboutSession(sessionId),
    );
  }
}

export class SessionHolderUnavailableError extends WhatsAppError {
  readonly code = 'SESSION_HOLDER_UNAVAILABLE';
  readonly httpStatus = 503;
  constructor(sessionId: string, waitedMs: number) {
    super(
      `The instance running WhatsApp session "${sessionNameOf(sessionId)}" did not answer within ${Math.round(waitedMs / 1000)} s; retry shortly`,
      aboutSession(sessionId),
    );
  }
}

/**
 * This instance closed its sessions for a shutdown: a session started now would run on, under a
 * lease nobody renews, after the instance let go of its sessions.
 */
export class InstanceShuttingDownError extends WhatsAppError {
  readonly code = 'INSTANCE_SHUTTING_DOWN';
  readonly httpStatus = 503;
  constructor(sessionId: string) {
    super(
      `This gateway instance is shutting down and starts no WhatsApp session; retry "${sessionNameOf(sessionId)}" shortly`,
      aboutSession(sessionId),
    );
  }
}

/** A domain error thrown on the instance holding the session, as it would have been thrown here. */
export class RelayedWhatsAppError extends WhatsAppError {
  readonly code: string;
  readonly httpStatus: number;
  constructor(error: RelayedError) {
    super(error.message, error.details);
    this.code = error.code;
    this.httpStatus = error.httpStatus;
  }
}
