/**
 * Ships each ended attempt's output to the control plane, in the background, so it stays readable after
 * this agent has gone (PROTOCOL.md, `output`). At least once, across reconnections and restarts:
 *
 *   attempt ended ──▶ WORK/outbox/JOB#TASK#ATTEMPT (an empty file) ──▶ queue
 *   registered (outputKeepBytes) ──▶ for each queued attempt, stdout then stderr:
 *       the last `outputKeepBytes` bytes of the file, in pieces of at most OUTPUT_PIECE_BYTES,
 *       one piece in flight at a time (the next once the server answered `output-stored`)
 *   both streams stored ──▶ outbox entry removed
 *
 * The outbox entry is written before the journal lets the attempt go (`written`, awaited before the
 * executor forgets an acknowledged end), so an agent killed at any point has, at its next start, either the
 * journal entry (its end is recovered and queued again) or the outbox entry. A lost connection leaves the
 * piece in flight unanswered: the stream is shipped again from its start once the node is registered again
 * (the server's writes are idempotent: a repeated piece overwrites itself). One piece in flight per agent
 * bounds what output queues ahead of a heartbeat to one piece.
 *
 * A server that keeps no output (its `registered` has no `outputKeepBytes`) is shipped nothing; the outbox
 * waits for one that does. Refusals that may pass (the server not ready, a standby, a failed store, an
 * internal error) are tried again after `RETRY_MS`, and so is an attempt whose file shrank while it was read;
 * any other refusal gives the stream up, once it has been tried again from its start, with a warning.
 */
import { mkdir, open, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log/index.js';
import type { AttemptId, OutputAnswer, OutputPiece } from './link-contract.js';

/** The folder under the work folder. */
export const OUTBOX_FOLDER = 'outbox';

/**
 * Bytes of output in one piece: the most PROTOCOL.md allows in an `output` frame (256 KiB). With one piece
 * in flight, that is all the output that can queue ahead of a heartbeat on the connection.
 */
export const OUTPUT_PIECE_BYTES = 256 * 1024;

/** How long a stream refused for a passing reason waits before it is tried again. */
export const RETRY_MS = 1_000;

/** How often `drained` looks whether the outbox has emptied (as the link's `drained` does for acknowledgements). */
const DRAIN_POLL_MS = 20;

/** Refusals that say "not now" rather than "never". */
const PASSING = new Set(['MUSTER_ERR_NOT_READY', 'MUSTER_ERR_NOT_LEADER', 'MUSTER_ERR_STORE_FAILED', 'MUSTER_ERR_BUSY', 'MUSTER_ERR_INTERNAL']);

const STREAMS = ['stdout', 'stderr'] as const;

export interface ShipperOptions {
  readonly workDir: string;
  readonly node: string;
  /** Where an attempt's stream is (the executor's `logPath`). */
  readonly path: (ref: AttemptId, stream: 'stdout' | 'stderr') => string;
  /** Sends one piece; the link's `output`. */
  readonly send: (node: string, piece: OutputPiece) => Promise<OutputAnswer>;
  readonly log: Logger;
}

type Shipped = 'stored' | 'given-up' | 'disconnected' | 'retry';

function key(ref: AttemptId): string {
  return `${ref.job}#${ref.task}#${ref.attempt}`;
}

function parseKey(name: string): AttemptId | undefined {
  const m = /^(.+)#(\d+)#(\d+)$/.exec(name);
  return m ? { job: m[1]!, task: Number(m[2]), attempt: Number(m[3]) } : undefined;
}

export class OutputShipper {
  readonly #o: ShipperOptions;
  readonly #dir: string;
  /** Attempts whose output waits to be shipped, oldest first. */
  readonly #queue = new Map<string, AttemptId>();
  /** Outbox entries being written. */
  readonly #writing = new Map<string, Promise<void>>();
  /** What the server keeps per stream; undefined until the node is registered on a connection (again). */
  #keepBytes: number | undefined;
  #wake: (() => void) | undefined;
  /** Ends the wait before a retry (a stop). */
  #halt: (() => void) | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  #busy = false;

  constructor(options: ShipperOptions) {
    this.#o = options;
    this.#dir = join(options.workDir, OUTBOX_FOLDER);
  }

  /** Attempts waiting to be shipped. */
  get pending(): number {
    return this.#queue.size;
  }

  /** Queues the attempts a previous run of the agent had not shipped. */
  async recover(): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
    for (const name of (await readdir(this.#dir)).sort()) {
      const ref = parseKey(name);
      if (ref) this.#queue.set(name, ref);
    }
  }

  /** An attempt ended: its outbox entry is written, and it is shipped once a server that keeps output is there. */
  add(ref: AttemptId): Promise<void> {
    const k = key(ref);
    const writing = writeFile(join(this.#dir, k), '')
      .then(() => {
        this.#queue.set(k, { job: ref.job, task: ref.task, attempt: ref.attempt });
        this.#kick();
      })
      .catch((err: unknown) => this.#o.log.error({ err, job: ref.job, task: ref.task, attempt: ref.attempt }, 'could not write an outbox entry: this attempt\'s output will not be shipped'))
      .finally(() => {
        if (this.#writing.get(k) === writing) this.#writing.delete(k);
      });
    this.#writing.set(k, writing);
    return writing;
  }

  /** Resolves once the outbox entries of `refs` being written are on disk (their journal entries may go then). */
  async written(refs: readonly AttemptId[]): Promise<void> {
    await Promise.all(refs.map((ref) => this.#writing.get(key(ref))));
  }

  /** The node registered on a connection: what the server keeps per stream (undefined or 0: nothing, ship nothing). */
  registered(keepBytes: number | undefined): void {
    this.#keepBytes = keepBytes ?? 0;
    this.#kick();
  }

  /** Resolves once nothing waits to be shipped, or after `timeoutMs`. */
  async drained(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((this.#queue.size > 0 || this.#busy) && Date.now() < deadline && this.#keepBytes) await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
  }

  /** Ships nothing more; what is queued stays in the outbox for the next start. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    this.#halt?.();
    await this.#running;
  }

  #kick(): void {
    if (this.#stopped) return;
    if (this.#wake) this.#wake();
    else this.#running ??= this.#run();
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      const next = this.#queue.entries().next();
      const keep = this.#keepBytes;
      if (next.done || !keep) {
        await new Promise<void>((resolve) => (this.#wake = resolve));
        this.#wake = undefined;
        continue;
      }
      const [k, ref] = next.value;
      this.#busy = true;
      const outcome = await this.#ship(ref, keep);
      this.#busy = false;
      if (outcome === 'disconnected') {
        // Until the node is registered again (its `registered` says what that server keeps).
        if (this.#keepBytes === keep) this.#keepBytes = undefined;
        continue;
      }
      if (outcome === 'retry') {
        // A stop ends the wait early (new attempts do not: they wait their turn behind this one).
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, RETRY_MS);
          this.#halt = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.#halt = undefined;
        continue;
      }
      this.#queue.delete(k);
      await rm(join(this.#dir, k), { force: true }).catch((err: unknown) => this.#o.log.warn({ err, entry: k }, 'could not remove an outbox entry: it will be shipped again at the next start'));
    }
  }

  /** Both streams of one attempt. A stream that cannot be read (its file unreadable) is given up with an error line. */
  async #ship(ref: AttemptId, keep: number): Promise<Shipped> {
    for (const stream of STREAMS) {
      const shipped = await this.#shipStream(ref, stream, keep).catch((err: unknown): Shipped => {
        this.#o.log.error({ err, job: ref.job, task: ref.task, attempt: ref.attempt, stream }, "could not read this attempt's output to ship it: it is not shipped");
        return 'given-up';
      });
      if (shipped === 'disconnected' || shipped === 'retry') return shipped;
    }
    return 'stored';
  }

  async #shipStream(ref: AttemptId, stream: 'stdout' | 'stderr', keep: number): Promise<Shipped> {
    const file = await open(this.#o.path(ref, stream), 'r').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    // No file: the attempt never got as far as running here; there is nothing to ship.
    if (!file) return 'given-up';
    try {
      const { size } = await file.stat();
      const from = Math.max(0, size - keep);
      let offset = from;
      let again = false;
      const buffer = Buffer.alloc(Math.min(OUTPUT_PIECE_BYTES, Math.max(1, size - from)));
      for (;;) {
        const length = Math.min(buffer.length, size - offset);
        const { bytesRead } = length > 0 ? await file.read(buffer, 0, length, offset) : { bytesRead: 0 };
        // The file shrank (someone truncated it): the attempt is shipped again, measured anew.
        if (bytesRead < length) return 'retry';
        const piece: OutputPiece = { ...ref, stream, size, from, offset, data: Buffer.from(buffer.subarray(0, bytesRead)), last: offset + bytesRead === size };
        const answer = await this.#o.send(this.#o.node, piece);
        if (answer.kind === 'disconnected') return 'disconnected';
        if (answer.kind === 'refused') {
          if (PASSING.has(answer.code)) return 'retry';
          if (offset > from && !again) {
            again = true;
            offset = from;
            continue;
          }
          this.#o.log.warn({ job: ref.job, task: ref.task, attempt: ref.attempt, stream, code: answer.code }, `the control plane refused this attempt's output: ${answer.message}; it is not shipped`);
          return 'given-up';
        }
        if (piece.last) return 'stored';
        offset += bytesRead;
      }
    } finally {
      await file.close();
    }
  }
}
