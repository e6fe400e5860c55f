import * as libsignal from 'libsignal';
import type { Mock } from 'vitest';
import { routeLibsignalConsole } from './libsignal-console';

interface ClosableRecord {
  closeSession(session: unknown): void;
}

const keyed = () => ({
  indexInfo: { closed: -1, baseKey: Buffer.from('base') },
  currentRatchet: { ephemeralKeyPair: { privKey: Buffer.from('secret-private-key') } },
});

describe('routeLibsignalConsole', () => {
  const originals = { info: console.info, warn: console.warn, error: console.error };
  let printed: unknown[][];
  let log: {
    debug: Mock<(details: object, message: string) => void>;
    warn: Mock<(details: object, message: string) => void>;
  };
  let restore: () => void;

  beforeEach(() => {
    printed = [];
    // What reaches stdout, had nothing been routed.
    console.info = console.warn = console.error = (...args: unknown[]) => void printed.push(args);
    log = { debug: vi.fn(), warn: vi.fn() };
    restore = routeLibsignalConsole(log);
  });

  afterEach(() => {
    restore();
    Object.assign(console, originals);
  });

  it("logs libsignal's closing of a session without the session's keys", () => {
    const record = new (
      libsignal as unknown as { SessionRecord: new () => ClosableRecord }
    ).SessionRecord();
    record.closeSession(keyed());

    expect(printed).toEqual([]);
    expect(log.debug).toHaveBeenCalledWith({ args: ['[Object]'] }, 'Closing session:');
    expect(JSON.stringify(log.debug.mock.calls)).not.toContain('secret');
  });

  it('keeps the text of a decryption error, at warn', () => {
    console.error('Session error:Error: Bad MAC', 'Error: Bad MAC\n    at verifyMAC');

    expect(log.warn).toHaveBeenCalledWith(
      { args: ['Error: Bad MAC\n    at verifyMAC'] },
      'Session error:Error: Bad MAC',
    );
    expect(printed).toEqual([]);
  });

  it('lets every other console call through untouched, and is undone by its restore', () => {
    const detail = { a: 1 };
    console.info('Listening on', 5000, detail);
    restore();
    console.info('Closing session:', keyed());

    expect(printed).toEqual([
      ['Listening on', 5000, detail],
      ['Closing session:', expect.objectContaining({ indexInfo: expect.anything() })],
    ]);
    expect(log.debug).not.toHaveBeenCalled();
  });
});
