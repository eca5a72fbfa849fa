/** Where a command writes: stdout for results, stderr for diagnostics. Tests pass their own. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
  /** Bytes to stdout as they are (a task's output); without it, they go through `out` as text. */
  raw?(data: Uint8Array): void;
}

export const processIo: Io = {
  raw: (data) => process.stdout.write(data),
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/** Exit statuses: 0 success, 1 the command ran and found a problem, 2 the command line was wrong. */
export const EXIT_OK = 0;
export const EXIT_PROBLEM = 1;
export const EXIT_USAGE = 2;
