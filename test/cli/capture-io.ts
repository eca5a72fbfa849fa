import type { Io } from '../../src/cli/io.js';

/** An `Io` that keeps what a command printed, for in-process command tests. */
export class CaptureIo implements Io {
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  out = (line: string): void => {
    this.stdout.push(...line.split('\n'));
  };
  err = (line: string): void => {
    this.stderr.push(...line.split('\n'));
  };
}
