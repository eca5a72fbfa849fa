import { MusterError } from '../errors/index.js';

/** A wrong command line (or environment variable): reported as MUSTER_ERR_USAGE, exit status 2. */
export class UsageError extends MusterError {
  constructor(message: string) {
    super('MUSTER_ERR_USAGE', message);
  }
}
