/** The pino subset engines use; a pino Logger satisfies it. */
export interface WaLogger {
  level: string;
  child(bindings: Record<string, unknown>, options?: { level?: string }): WaLogger;
  trace(obj: unknown, msg?: string): void;
  debug(obj: unknown, msg?: string): void;
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
}
