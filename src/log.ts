import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * Where log lines go: stdout (or a file), written in blocks of up to 4 KiB instead of one system
 * call per line, and flushed at least every quarter second so a quiet gateway's lines still
 * appear promptly. stop() and fatal paths flush what is left.
 */
export function logDestination(dest: number | string = 1): pino.DestinationStream & { flushSync(): void } {
  const stream = pino.destination({ dest, sync: false, minLength: 4096 });
  setInterval(() => stream.flush(), 250).unref();
  return stream;
}

/**
 * JSON lines. Secrets and message content are never logged; the redact list is a second line
 * of defence for fields that might carry them by mistake.
 */
export function createLogger(level: string, destination: pino.DestinationStream = logDestination()): Logger {
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
