import { describe, expect, it } from 'vitest';
import { SessionAlreadyConnectedError, SessionNotFoundError } from './errors';
import { makeSessionId, sessionNameOf } from './session-state/session-state';

describe('session errors', () => {
  it('name the session as the client did, keeping the id for the logs', () => {
    const sessionId = makeSessionId('6b149609f60a2421fbdb2c02', 'sales_team-1');
    expect(sessionNameOf(sessionId)).toBe('sales_team-1');
    const notFound = new SessionNotFoundError(sessionId);
    expect(notFound.message).toBe('WhatsApp session "sales_team-1" was not found');
    expect(notFound.details).toEqual({ sessionName: 'sales_team-1', sessionId });
    expect(new SessionAlreadyConnectedError(sessionId).message).toContain('"sales_team-1"');
  });
});
