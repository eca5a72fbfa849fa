/**
 * The one logger factory. Every component logs through `createLogger`, so redaction and format are set in
 * one place: JSON lines (pino) to stderr by default, with tokens, secrets, passwords, authorization headers
 * and task environments replaced by `[redacted]` at any of the first three levels of a log object. A
 * command that a person runs at a terminal (`muster server`, `muster start`) may switch the process to
 * human lines (`setLogFormat('human')`, human-lines.ts) before it creates its components.
 */
import pino from 'pino';
import type { DestinationStream, Logger, LevelWithSilent } from 'pino';
import { humanDestination } from './human-lines.js';

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

/** `json`: a JSON record per line, for machines (the default); `human`: a readable line per record. */
export type LogFormat = 'json' | 'human';
export const LOG_FORMATS: readonly LogFormat[] = ['json', 'human'];

/** The format of loggers created without a destination, for the whole process. */
let processFormat: LogFormat = 'json';

/** Sets the format of the loggers created from now on without a destination of their own. */
export function setLogFormat(format: LogFormat): void {
  processFormat = format;
}

function defaultDestination(): DestinationStream {
  return processFormat === 'human' ? humanDestination() : pino.destination({ fd: 2, sync: false });
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
    options.destination ?? defaultDestination(),
  );
}
