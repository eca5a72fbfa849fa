/**
 * The control plane's copy of tasks' output (PROTOCOL.md, `output`): agents ship each ended attempt's
 * output over `/v1/agent`; the gateway hands the chunks to an `OutputKeeper` and reads from it when the
 * agent that ran the attempt cannot answer. The gateway knows no files: the server gives it one that keeps
 * them in its data folder (src/server/output-folder.ts).
 */

export type OutputStream = 'stdout' | 'stderr';

/** One stream of one attempt. */
export interface OutputRef {
  readonly job: string;
  readonly task: number;
  readonly attempt: number;
  readonly stream: OutputStream;
}

/**
 * A piece of what an agent ships: bytes [offset, offset + data.length) of the stream, whose whole is `size`
 * bytes of which the last `size − from` are kept (the tail, at most the keeper's `keepBytes`). `last`: this
 * piece ends at `size`, the copy is complete.
 */
export interface OutputChunk extends OutputRef {
  readonly size: number;
  readonly from: number;
  readonly offset: number;
  readonly data: Uint8Array;
  readonly last: boolean;
}

/** What a read of a kept copy finds: `data` from max(offset, from), and the copy's extent. */
export interface KeptOutput {
  /** Bytes the task wrote to the stream in all. */
  readonly size: number;
  /** Where the kept part starts: bytes before it were not kept (over the cap). */
  readonly from: number;
  readonly data: Buffer;
}

/** A chunk the keeper cannot take as it is: the agent sends the stream again from `from`, or gives it up. */
export type WriteResult = { readonly ok: true } | { readonly ok: false; readonly field: string; readonly message: string };

export interface OutputKeeper {
  /** The most bytes kept per stream of an attempt (the tail); 0 keeps nothing and agents ship nothing. */
  readonly keepBytes: number;
  /** Takes a chunk; idempotent (the same chunk again changes nothing); the last one makes the copy readable at once, whole. */
  write(chunk: OutputChunk): Promise<WriteResult>;
  /** Up to `maxBytes` of the kept copy from `offset`; undefined when there is no complete copy. */
  read(ref: OutputRef, offset: number, maxBytes: number): Promise<KeptOutput | undefined>;
  /** The jobs left the live state (retired): their copies go. */
  removeJobs(jobs: readonly string[]): Promise<void>;
}

/**
 * Most bytes of output in one `output` frame. One chunk is in flight per agent connection at a time (the
 * agent waits for `output-stored` before the next), so at most this much output queues ahead of a heartbeat
 * on the socket: 256 KiB is a fraction of a second even on a 10 Mbit/s link, well inside the suspect timeout
 * (2.5 s), and a 1 MiB stream still takes only four round trips.
 */
export const MAX_OUTPUT_CHUNK_BYTES = 256 * 1024;

/**
 * What the server keeps of each stream of an attempt unless configured otherwise (`output.keepBytes`):
 * 1 MiB, the tail. The end of a batch job's output is where its result or its error is (what Slurm users
 * `tail` in slurm-JOB.out, and what Nomad's log rotation keeps: the newest files); 1 MiB is a few thousand
 * lines of it per stream, and 2 MiB per attempt keeps a thousand retained attempts' copies at about 2 GiB.
 */
export const DEFAULT_OUTPUT_KEEP_BYTES = 1 << 20;
