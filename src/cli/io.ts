/** Where a command writes: stdout for results, stderr for diagnostics. Tests pass their own. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
  /** Bytes to stdout as they are (a task's output); without it, they go through `out` as text. */
  raw?(data: Uint8Array): void;
  /** Text to stdout without a newline (a progress line redrawn in place). */
  write?(text: string): void;
  /** Whether stdout is a terminal (someone watching it): progress may be redrawn in place. */
  readonly terminal?: boolean;
}

export const processIo: Io = {
  raw: (data) => process.stdout.write(data),
  write: (text) => process.stdout.write(text),
  get terminal() {
    return process.stdout.isTTY === true;
  },
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/** Exit statuses: 0 success, 1 the command ran and found a problem, 2 the command line was wrong. */
export const EXIT_OK = 0;
export const EXIT_PROBLEM = 1;
export const EXIT_USAGE = 2;
