export { ErrorCodes, isErrorCode } from './catalog.js';
export type { ErrorCode } from './catalog.js';
export { MusterError, rangeError, typeError, codeOf, toWire, fromWire } from './muster-error.js';
export type { WireError } from './muster-error.js';
