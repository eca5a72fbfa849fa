/**
 * The error catalog: every stable error code muster emits, with what it means.
 *
 * Callers test `code`, never the message. Codes never change meaning once released; a new situation gets a
 * new code. Errors that cross a thread or the wire travel as `{ code, message }` (see `toWire`).
 */
export const ErrorCodes = {
  // Input: specs, quantities, names. Reported as problems with a field path, all at once.
  MUSTER_ERR_INVALID_TYPE: 'a field has the wrong type',
  MUSTER_ERR_REQUIRED: 'a required field is missing',
  MUSTER_ERR_UNKNOWN_FIELD: 'a field is not part of the spec (often a typo)',
  MUSTER_ERR_INVALID_QUANTITY: 'a resource quantity cannot be parsed in its unit',
  MUSTER_ERR_INVALID_DURATION: 'a duration cannot be parsed',
  MUSTER_ERR_INVALID_NAME: 'a name, key or label has characters or a shape that is not allowed',
  MUSTER_ERR_INVALID_VALUE: 'a value is outside its allowed set or range',
  MUSTER_ERR_INVALID_SELECTOR: 'a label selector cannot be parsed',
  MUSTER_ERR_LIMIT_EXCEEDED: 'a size limit (tasks, labels, command length, array size, ...) is exceeded',
  MUSTER_ERR_INVALID_SPEC: 'a spec file cannot be read or parsed at all',

  // Resource arithmetic.
  MUSTER_ERR_RESOURCE_UNDERFLOW: 'a subtraction would make a resource dimension negative',
  MUSTER_ERR_RESOURCE_OVERFLOW: 'a resource quantity is beyond the largest representable amount',

  // Command line.
  MUSTER_ERR_USAGE: 'the command line is not understood',

  // A bug: an error that is not one of the above. Reported with its message; never expected.
  MUSTER_ERR_INTERNAL: 'an unexpected internal error',
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ErrorCodes, value);
}
