/**
 * The one logger factory. Every component logs through `createLogger`, so redaction and format are set in
 * one place: JSON lines (pino) to stderr by default, with tokens, secrets, passwords, authorization headers
 * and task environments replaced by `[redacted]` at any of the first three levels of a log object.
 */
import pino from 'pino';
import type { DestinationStream, Logger, LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

const SECRET_KEYS = ['token', 'tokens', 'secret', 'password', 'authorization', 'cookie', 'apiKey', 'key_pem', 'env'];

/** `token`, `*.token`, `*.*.token`, … for every secret key. */
export const REDACT_PATHS: readonly string[] = SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]);

export interface LoggerOptions {
  /** The component: `gateway`, `store`, `site-a`, … */
  readonly name: string;
  /** Default: `MUSTER_LOG_LEVEL`, else `info`. */
  readonly level?: LevelWithSilent;
  /** Default: stderr (fd 2), so command output on stdout stays clean. */
  readonly destination?: DestinationStream;
  /** Fields added to every line, read when the line is written (a replica's role and epoch). */
  readonly mixin?: () => Record<string, unknown>;
}

function defaultLevel(): LevelWithSilent {
  const env = process.env['MUSTER_LOG_LEVEL'];
  const levels: readonly string[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
  return env !== undefined && levels.includes(env) ? (env as LevelWithSilent) : 'info';
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      name: options.name,
      level: options.level ?? defaultLevel(),
      redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
      base: { pid: process.pid },
      ...(options.mixin ? { mixin: options.mixin } : {}),
    },
    options.destination ?? pino.destination({ fd: 2, sync: false }),
  );
}
