import { randomUUID } from 'node:crypto';
import { maxHeaderSize, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

interface ClientErrorAnswer {
  status: number;
  code: string;
  message: string;
}

/** What Node's HTTP parser refused, as the status Node itself would answer and our code. */
function describe(errorCode: string | undefined, headerLimit: number): ClientErrorAnswer {
  switch (errorCode) {
    case 'HPE_HEADER_OVERFLOW':
      return {
        status: 431,
        code: 'HEADERS_TOO_LARGE',
        message: `The request line and headers are over ${Math.round(headerLimit / 1024)} KB`,
      };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return {
        status: 408,
        code: 'REQUEST_TIMEOUT',
        message: 'The request did not arrive whole in time',
      };
    default:
      return { status: 400, code: 'BAD_REQUEST', message: 'The request is not valid HTTP' };
  }
}

/**
 * A `clientError` listener for the HTTP server: a request Node's parser refuses (a path or headers
 * over 16 KB, a malformed header line, a head that never ends) never reaches Express, and Node
 * answered it with a bare status line, no body and no request id. It gets the one error shape
 * instead, with the status Node would give, where Node would answer at all: not on a socket that
 * is gone or whose current answer has begun.
 */
export function answerClientError(
  error: Error & { code?: string },
  socket: Duplex & { _httpMessage?: ServerResponse | null },
  headerLimit = maxHeaderSize,
): void {
  const inFlight = socket._httpMessage;
  if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const { status, code, message } = describe(error.code, headerLimit);
  const requestId = randomUUID();
  const reason = STATUS_CODES[status] ?? 'Error';
  const body = JSON.stringify({ statusCode: status, error: reason, code, message, requestId });
  socket.end(
    [
      `HTTP/1.1 ${status} ${reason}`,
      'Content-Type: application/json; charset=utf-8',
      `Content-Length: ${Buffer.byteLength(body)}`,
      `X-Request-Id: ${requestId}`,
      'X-Content-Type-Options: nosniff',
      'Connection: close',
      '',
      body,
    ].join('\r\n'),
  );
}
