/**
 * A small leveled logger for the long-running commands: one human-readable line per event on stderr,
 * `HH:MM:SS.mmm level message`. Secrets never reach it (the config is redacted before it is logged).
 */
const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LEVELS)[number];

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  debug(message: string): void;
}

export function createLogger(
  level: LogLevel,
  write: (line: string) => void = (l) => process.stderr.write(l),
): Logger {
  const min = LEVELS.indexOf(level);
  const at = (l: LogLevel) => (message: string) => {
    if (LEVELS.indexOf(l) < min) return;
    write(`${new Date().toISOString().slice(11, 23)} ${l.padEnd(5)} ${message}\n`);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
