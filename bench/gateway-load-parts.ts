/**
 * What the load generator's orders share (bench/gateway-load.ts runs them, bench/e2e-run-load.ts holds the
 * run-to-the-end ones): the client library as built, jobs cut into frames, the check of every ack, and the
 * open-loop pacing sleep.
 */
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

export type ClientModule = typeof import('../src/client/index.js');
type SubmitResult = import('../src/client/index.js').SubmitResult;

/** What a closed-loop order asks for: `total` jobs in frames of `batch`, `window` frames in flight. */
export interface ClosedLoop {
  readonly url: string;
  readonly token: string;
  readonly batch: number;
  readonly total: number;
  readonly window: number;
  /** Every job's idempotency key is unique to its order's seed. */
  readonly seed: number;
}

/** What an open-loop order asks for: a frame of `batch` jobs every `batch / jobsPerSecond` s for `durationMs`. */
export interface OpenLoop {
  readonly url: string;
  readonly token: string;
  readonly batch: number;
  readonly jobsPerSecond: number;
  readonly durationMs: number;
  readonly seed: number;
}

/** Replies are awaited up to this long: a frame of 1,000 jobs behind a deep queue can take seconds. */
export const REQUEST_TIMEOUT_MS = 120_000;

/** The client library as compiled in dist/ (what a user runs). */
export async function clientModule(): Promise<ClientModule> {
  const file = fileURLToPath(new URL('../dist/client/index.js', import.meta.url));
  if (!existsSync(file)) throw new Error(`${file} is missing; run \`npm run build\` first`);
  return (await import(file)) as ClientModule;
}

/** `jobs` in frames of `batch`, in order. */
export function inFrames<T>(jobs: readonly T[], batch: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < jobs.length; i += batch) out.push(jobs.slice(i, i + batch));
  return out;
}

/** Every result ok, new and distinct, else a thrown error naming the first that is not. */
export class AckCheck {
  readonly #ids = new Set<string>();
  last = '';
  add(results: readonly SubmitResult[], expected: number): void {
    if (results.length !== expected) throw new Error(`${results.length} results for ${expected} jobs`);
    for (const r of results) {
      if (!r.ok) throw new Error(`a job was refused: ${r.code}: ${r.message}`);
      if (r.existing) throw new Error(`job ${r.job} came back as existing: a key was reused`);
      if (this.#ids.has(r.job)) throw new Error(`job id ${r.job} was given twice`);
      this.#ids.add(r.job);
      this.last = r.job;
    }
  }
  get size(): number {
    return this.#ids.size;
  }
  has(job: string): boolean {
    return this.#ids.has(job);
  }
}

/** Resolves at `t` (performance.now() time), at once if it is past. */
function sleepUntil(t: number): Promise<void> {
  const ms = t - performance.now();
  return ms > 0.5 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}

type Submit = (jobs: Record<string, unknown>[]) => Promise<readonly SubmitResult[]>;

/**
 * Submits the frames of `work` keeping `window` in flight (closed loop), each ack checked into `check`.
 * Resolves with the performance.now() of the first send once every ack is in.
 */
export async function submitClosedLoop(submit: Submit, work: readonly Record<string, unknown>[][], window: number, check: AckCheck): Promise<number> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < work.length) {
      const jobs = work[next++]!;
      check.add(await submit(jobs), jobs.length);
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: Math.min(window, work.length) }, lane));
  return start;
}

/**
 * Sends frame i of `work` when it is due, `intervalMs` after the one before (open loop: whatever is still
 * in flight), each ack checked into `check` and then handed to `acked` with the frame's due time
 * (performance.now()). Resolves with the latest a frame was sent after it was due, once every ack is in.
 */
export async function submitPaced(
  submit: Submit,
  work: readonly Record<string, unknown>[][],
  intervalMs: number,
  check: AckCheck,
  acked: (frame: number, results: readonly SubmitResult[], due: number) => void,
): Promise<number> {
  const acks: Promise<void>[] = [];
  let maxLateMs = 0;
  // A short lead so the first frame is not due while this loop is still being set up.
  const start = performance.now() + 20;
  for (let i = 0; i < work.length; i++) {
    const due = start + i * intervalMs;
    await sleepUntil(due);
    maxLateMs = Math.max(maxLateMs, performance.now() - due);
    const jobs = work[i]!;
    acks.push(
      submit(jobs).then((results) => {
        check.add(results, jobs.length);
        acked(i, results, due);
      }),
    );
  }
  await Promise.all(acks);
  return maxLateMs;
}
