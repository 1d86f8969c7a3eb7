/**
 * Structured JSON logs (pino) on stdout, one object per line. Levels: fatal, error, warn, info,
 * debug, trace (silent turns logging off). Info carries lifecycle events only — start, ready,
 * membership changes, lease events, origin errors, shutdown — never one line per request.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  // Synchronous writes: with pino's default asynchronous stdout, lines still in flight when the
  // process exits could be overtaken by the ones flushed at exit ("stopped" before "signal received").
  return pino(
    {
      level,
      base: { pid: process.pid, ...base },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        // "level":"info" instead of "level":30: readable by people and by log shippers alike.
        level: (label) => ({ level: label }),
      },
    },
    pino.destination({ dest: 1, sync: true }),
  );
}
