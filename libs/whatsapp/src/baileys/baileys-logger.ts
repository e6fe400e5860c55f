import type { WaLogger } from '../engine/wa-logger';
import { CLOSE_CODES } from '../engine/close-reason';

/**
 * Baileys logs the stream error that asks for a restart (515, sent right after every pairing) at
 * error level, though we reconnect at once and the session goes on: an operator alerting on errors
 * was paged for each new link. It is logged at info; every other line keeps its level.
 */
const isRoutine = (obj: unknown, msg?: string): boolean =>
  msg === 'stream errored out' &&
  (obj as { fullErrorNode?: { attrs?: { code?: string } } } | undefined)?.fullErrorNode?.attrs
    ?.code === String(CLOSE_CODES.restartRequired);

type LogArgs = [obj: unknown, msg?: string];

/** The logger handed to Baileys (and the children Baileys makes of it). */
export function baileysLogger(logger: WaLogger): WaLogger {
  return {
    get level() {
      return logger.level;
    },
    set level(level: string) {
      logger.level = level;
    },
    child: (bindings, options) => baileysLogger(logger.child(bindings, options)),
    // Forwarded with the arguments given: pino reads a lone string differently from (obj, msg).
    trace: (...args: LogArgs) => logger.trace(...args),
    debug: (...args: LogArgs) => logger.debug(...args),
    info: (...args: LogArgs) => logger.info(...args),
    warn: (...args: LogArgs) => logger.warn(...args),
    error: (...args: LogArgs) =>
      isRoutine(...args) ? logger.info(...args) : logger.error(...args),
  };
}
