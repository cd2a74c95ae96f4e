import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * JSON lines on stdout. Secrets and message content are never logged; the redact list is a
 * second line of defence for fields that might carry them by mistake.
 */
export function createLogger(level: string, destination: pino.DestinationStream = pino.destination({ fd: 1, sync: false })): Logger {
  return pino(
    {
      level,
      base: { service: 'outguard' },
      timestamp: pino.stdTimeFunctions.isoTime,
      // top-level paths only: wildcard redaction costs on every line of the per-message hot path
      redact: { paths: ['password', 'pass', 'auth', 'token', 'body', 'raw'], censor: '[redacted]' },
    },
    destination,
  );
}
