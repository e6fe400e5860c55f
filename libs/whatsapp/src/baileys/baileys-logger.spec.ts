import { Writable } from 'node:stream';
import pino from 'pino';
import { baileysLogger } from './baileys-logger';

/** A pino logger at `level` whose lines are collected as objects. */
function collected(level = 'trace') {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level }, stream), lines };
}

const streamError = (code: string) => ({
  reasonNode: { tag: 'conflict' },
  fullErrorNode: { tag: 'stream:error', attrs: { code } },
});

describe('baileysLogger', () => {
  it('logs the restart-required stream error (515, after every pairing) at info, also from a child', () => {
    const { logger, lines } = collected();
    baileysLogger(logger)
      .child({ class: 'baileys' })
      .error(streamError('515'), 'stream errored out');

    expect(lines).toEqual([
      expect.objectContaining({ level: 30, class: 'baileys', msg: 'stream errored out' }),
    ]);
  });

  it('keeps every other error at error, and a lone string as the message', () => {
    const { logger, lines } = collected();
    const log = baileysLogger(logger);
    log.error(streamError('503'), 'stream errored out');
    log.error({ error: 'x' }, 'Failed to create own LID session');
    log.warn('no name present, ignoring presence update request...');

    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      [50, 'stream errored out'],
      [50, 'Failed to create own LID session'],
      [40, 'no name present, ignoring presence update request...'],
    ]);
  });

  it('shares the level of the logger it wraps', () => {
    const { logger, lines } = collected('warn');
    const log = baileysLogger(logger);
    log.error(streamError('515'), 'stream errored out'); // info, below warn

    expect(log.level).toBe('warn');
    expect(lines).toEqual([]);
  });
});
