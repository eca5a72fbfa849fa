import type { Io } from './io.js';

/** One `muster` subcommand. */
export interface Command {
  readonly name: string;
  /** One line for `muster --help`. */
  readonly summary: string;
  /** The full `muster NAME --help` text. */
  readonly usage: string;
  run(args: readonly string[], io: Io): Promise<number>;
}
