export { createLogger, REDACT_PATHS, LOG_FORMATS, setLogFormat } from './logger.js';
export type { Logger, LoggerOptions, LogFormat } from './logger.js';
export { humanLine } from './human-lines.js';
