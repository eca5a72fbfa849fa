/**
 * Automatic batching of submissions: calls to `submit` that arrive within a short window share frames, up to
 * `maxJobs` jobs per frame. A call bigger than a frame is split over several; each call gets its results
 * back in its own order once every frame holding a part of it has been answered.
 *
 * The batcher knows nothing of connections: `send` takes the jobs of one frame and resolves with one result
 * per job (or rejects, failing every call with a part in that frame). Timers are injected so the tests can
 * drive the window by hand.
 */
import { MusterError } from '../errors/index.js';
import type { JobSpecInput, SubmitResult } from './wire.js';

/**
 * Jobs per frame by default: large enough that the per-frame cost (a request, a group commit, a reply) is
 * spread thin, small enough that one frame is far below the server's 10,000-job and 16 MiB limits
 * (1,000 typical specs are about 150 KiB of msgpack) and one slow frame holds few callers.
 */
export const DEFAULT_MAX_JOBS_PER_FRAME = 1_000;

/**
 * How long a partly filled frame waits for more calls, in ms. One millisecond gathers the calls of a busy
 * producer yet adds at most that to the acknowledgement latency (the budget is 10 ms at p99). 0 sends at
 * the end of the current turn of the event loop (`setImmediate`): calls made in the same turn still share.
 */
export const DEFAULT_BATCH_WINDOW_MS = 1;

export interface BatcherOptions {
  readonly maxJobs?: number;
  readonly windowMs?: number;
  /** Sends one frame's jobs; resolves with one result per job, in order. */
  readonly send: (jobs: readonly JobSpecInput[], tenant: string | undefined) => Promise<readonly SubmitResult[]>;
  /** Runs `fn` after `ms` (0: at the end of this turn); returns a cancel function. */
  readonly schedule?: (fn: () => void, ms: number) => () => void;
}

/** One caller's `submit`: its results fill in as the frames holding its jobs are answered. */
interface Call {
  readonly results: SubmitResult[];
  remaining: number;
  settled: boolean;
  readonly resolve: (results: SubmitResult[]) => void;
  readonly reject: (err: Error) => void;
}

/** The part of a call that went into one frame: `count` jobs starting at `offset` in the call. */
interface Slice {
  readonly call: Call;
  readonly offset: number;
  readonly count: number;
}

/** Jobs gathering for one frame, per tenant (frames carry one tenant). */
interface OpenFrame {
  readonly jobs: JobSpecInput[];
  readonly slices: Slice[];
  cancel: (() => void) | undefined;
}

function defaultSchedule(fn: () => void, ms: number): () => void {
  if (ms <= 0) {
    const handle = setImmediate(fn);
    return () => clearImmediate(handle);
  }
  const handle = setTimeout(fn, ms);
  return () => clearTimeout(handle);
}

export class SubmitBatcher {
  readonly #maxJobs: number;
  readonly #windowMs: number;
  readonly #send: BatcherOptions['send'];
  readonly #schedule: NonNullable<BatcherOptions['schedule']>;
  /** Open frames by tenant ('' for the token's own). */
  readonly #open = new Map<string, OpenFrame>();

  constructor(options: BatcherOptions) {
    this.#maxJobs = options.maxJobs ?? DEFAULT_MAX_JOBS_PER_FRAME;
    this.#windowMs = options.windowMs ?? DEFAULT_BATCH_WINDOW_MS;
    if (!Number.isInteger(this.#maxJobs) || this.#maxJobs < 1) throw new RangeError(`maxJobs must be a positive integer, not ${this.#maxJobs}`);
    this.#send = options.send;
    this.#schedule = options.schedule ?? defaultSchedule;
  }

  /** Queues `jobs` (one caller's) and resolves with their results, in order. */
  add(jobs: readonly JobSpecInput[], tenant?: string): Promise<SubmitResult[]> {
    if (jobs.length === 0) return Promise.resolve([]);
    return new Promise<SubmitResult[]>((resolve, reject) => {
      const call: Call = { results: new Array<SubmitResult>(jobs.length), remaining: jobs.length, settled: false, resolve, reject };
      const key = tenant ?? '';
      let offset = 0;
      while (offset < jobs.length) {
        const frame = this.#frameFor(key);
        const count = Math.min(jobs.length - offset, this.#maxJobs - frame.jobs.length);
        for (let i = 0; i < count; i++) frame.jobs.push(jobs[offset + i] as JobSpecInput);
        frame.slices.push({ call, offset, count });
        offset += count;
        if (frame.jobs.length >= this.#maxJobs) this.#flush(key);
      }
    });
  }

  /** Sends every open frame now (e.g. before closing). */
  flushAll(): void {
    for (const key of [...this.#open.keys()]) this.#flush(key);
  }

  #frameFor(key: string): OpenFrame {
    let frame = this.#open.get(key);
    if (!frame) {
      const created: OpenFrame = { jobs: [], slices: [], cancel: undefined };
      created.cancel = this.#schedule(() => {
        created.cancel = undefined;
        if (this.#open.get(key) === created) this.#flush(key);
      }, this.#windowMs);
      frame = created;
      this.#open.set(key, frame);
    }
    return frame;
  }

  #flush(key: string): void {
    const frame = this.#open.get(key);
    if (!frame) return;
    this.#open.delete(key);
    frame.cancel?.();
    this.#send(frame.jobs, key === '' ? undefined : key).then(
      (results) => {
        if (results.length !== frame.jobs.length) {
          fail(frame.slices, new MusterError('MUSTER_ERR_INTERNAL', `the server answered ${results.length} results for ${frame.jobs.length} jobs`));
          return;
        }
        let at = 0;
        for (const slice of frame.slices) {
          const { call } = slice;
          for (let i = 0; i < slice.count; i++) call.results[slice.offset + i] = results[at++] as SubmitResult;
          call.remaining -= slice.count;
          if (call.remaining === 0 && !call.settled) {
            call.settled = true;
            call.resolve(call.results);
          }
        }
      },
      (err: Error) => fail(frame.slices, err),
    );
  }
}

function fail(slices: readonly Slice[], err: Error): void {
  for (const { call } of slices) {
    if (call.settled) continue;
    call.settled = true;
    call.reject(err);
  }
}
