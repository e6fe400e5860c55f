import { Logger } from '@nestjs/common';

type ConsoleMethod = 'log' | 'info' | 'warn' | 'error';
type Level = 'debug' | 'warn';
interface LevelLogger {
  debug(details: object, message: string): void;
  warn(details: object, message: string): void;
}

/**
 * What libsignal (6.0.0, under Baileys 7.0.0-rc14) writes with console.*, by how it starts. Its
 * session bookkeeping passes whole SessionEntry objects along: ratchet private keys, root and chain
 * keys, printed to stdout outside our JSON log lines (Baileys issues #887, #888, #2098).
 */
const LIBSIGNAL_MESSAGES: ReadonlyArray<readonly [start: string, level: Level]> = [
  ['Closing session:', 'debug'],
  ['Opening session:', 'debug'],
  ['Removing old closed session:', 'debug'],
  ['Session already closed', 'debug'],
  ['Session already open', 'debug'],
  ['Migrating session to:', 'debug'],
  ['Closing open session in favor of incoming prekey bundle', 'debug'],
  ['Closing stale open session for new outgoing prekey bundle', 'debug'],
  ['Decrypted message with closed session.', 'debug'],
  ['Failed to decrypt message with any known session', 'warn'],
  ['Session error:', 'warn'],
  ['V1 session storage migration error', 'warn'],
  ['Unhandled bucket type (for naming):', 'warn'],
  ['WARNING: Expected pubkey of length 33', 'warn'],
];

const levelOf = (first: unknown): Level | undefined =>
  typeof first === 'string'
    ? LIBSIGNAL_MESSAGES.find(([start]) => first.startsWith(start))?.[1]
    : undefined;

/** Strings and numbers (an error's stack, a registration id) are kept; objects by their kind only. */
const withoutObjects = (args: unknown[]): unknown[] =>
  args.map((arg) =>
    arg !== null && typeof arg === 'object' ? `[${arg.constructor?.name ?? 'Object'}]` : arg,
  );

/**
 * Sends libsignal's console messages to our logger, without the objects they carry; every other
 * console call goes through as before. Returns what puts the console back.
 */
export function routeLibsignalConsole(log: LevelLogger = new Logger('libsignal')): () => void {
  const methods: ConsoleMethod[] = ['log', 'info', 'warn', 'error'];
  const originals = methods.map((method) => [method, console[method]] as const);
  for (const [method, original] of originals)
    console[method] = (...args: unknown[]) => {
      const level = levelOf(args[0]);
      if (!level) return original.apply(console, args);
      const [message, ...rest] = args as [string, ...unknown[]];
      log[level](rest.length ? { args: withoutObjects(rest) } : {}, message);
    };
  return () => {
    for (const [method, original] of originals) console[method] = original;
  };
}

let routed = false;

/** Once per process, before the first socket: libsignal's console is the process's console. */
export function routeLibsignalConsoleOnce(): void {
  if (routed) return;
  routed = true;
  routeLibsignalConsole();
}
