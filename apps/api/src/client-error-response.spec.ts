import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { answerClientError } from './client-error-response';

/** A socket that records what is written to it. */
function fakeSocket(state: { writable?: boolean; inFlight?: Partial<ServerResponse> } = {}) {
  const written: string[] = [];
  const socket = {
    writable: state.writable ?? true,
    _httpMessage: state.inFlight ?? null,
    end: vi.fn((text: string) => written.push(text)),
    destroy: vi.fn(),
  };
  return { socket: socket as unknown as Duplex, written, destroy: socket.destroy };
}

const parse = (raw: string) => {
  const [head, body] = raw.split('\r\n\r\n');
  return { statusLine: head.split('\r\n')[0], body: JSON.parse(body) };
};

describe('answerClientError', () => {
  it('answers what Node would, in the one error shape with a request id', () => {
    for (const [code, statusLine, errorCode] of [
      ['HPE_HEADER_OVERFLOW', 'HTTP/1.1 431 Request Header Fields Too Large', 'HEADERS_TOO_LARGE'],
      ['ERR_HTTP_REQUEST_TIMEOUT', 'HTTP/1.1 408 Request Timeout', 'REQUEST_TIMEOUT'],
      ['HPE_INVALID_HEADER_TOKEN', 'HTTP/1.1 400 Bad Request', 'BAD_REQUEST'],
    ]) {
      const { socket, written } = fakeSocket();
      answerClientError(Object.assign(new Error('parse'), { code }), socket, 16_384);
      const answer = parse(written[0]);
      expect(answer.statusLine).toBe(statusLine);
      expect(answer.body).toMatchObject({ code: errorCode, requestId: expect.any(String) });
      expect(written[0]).toContain(`X-Request-Id: ${answer.body.requestId}`);
    }
  });

  it('writes nothing on a socket that is gone, reset, or in the middle of an answer', () => {
    for (const [state, code] of [
      [{ writable: false }, 'HPE_HEADER_OVERFLOW'],
      [{}, 'ECONNRESET'],
      [{ inFlight: { headersSent: true } }, 'HPE_INVALID_CHUNK_SIZE'],
    ] as const) {
      const { socket, written, destroy } = fakeSocket(state);
      answerClientError(Object.assign(new Error('x'), { code }), socket);
      expect(written).toEqual([]);
      expect(destroy).toHaveBeenCalled();
    }
  });
});
