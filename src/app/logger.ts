import pino from 'pino';

/**
 * The logger of the long-running commands: pino (the logger fastify is built on), one JSON line per
 * event on stderr, written synchronously so that nothing logged before an exit is lost. Level names
 * are pino's, the same as LOG_LEVEL's. Secrets never reach it (the config is redacted before it is
 * logged).
 */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
export type Logger = pino.Logger;

export function createLogger(
  level: LogLevel,
  destination: pino.DestinationStream = pino.destination({ fd: 2, sync: true }),
): Logger {
  return pino(
    {
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
