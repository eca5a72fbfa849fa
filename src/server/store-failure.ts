/**
 * What `muster server` does when its store fails (DESIGN.md §7b, README.md "When the store fails"): a write
 * or fsync of the log failed (EIO, ENOSPC, …), so nothing more can be made durable, and only a restart —
 * recovery reads the files — knows what is. The failure is loud:
 *
 * - the scheduler answers every request waiting for durability with `MUSTER_ERR_STORE_FAILED` at once and
 *   refuses later writes (src/scheduler/durable-sequencer.ts); dispatches waiting for it are dropped;
 * - the gateway turns `failed`: `/healthz` and `/readyz` answer 503 with the code and the cause, upgrades
 *   and requests are refused 503 with it;
 * - the failure is logged once, at fatal, with its errno and its file;
 * - the process exits with `STORE_FAILED_EXIT_CODE` `STORE_FAILED_EXIT_DELAY_MS` after it, so that a
 *   supervisor restarts it and recovery runs.
 *
 * `StoreFailureWatch` is the part that notices: it wraps the scheduler's sink and settles `failed` with the
 * first failure any batch reports.
 */
import { MusterError, codeOf } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import type { EventSink } from '../scheduler/index.js';
import { failureCause } from '../store/index.js';

/**
 * The exit status after a store failure: 74 is `EX_IOERR` of sysexits.h ("an error occurred while doing
 * I/O on some file"), distinct from 1 (a problem at start) and 2 (usage), so a supervisor's logs say why.
 */
export const STORE_FAILED_EXIT_CODE = 74;

/**
 * How long the process stays up after its store failed before it closes everything and exits: long enough
 * for the refusals just sent to leave (uWS sends them at once; a client that is slow to read still gets its
 * bytes out of the socket buffer) and for a health probe to see the 503; short enough that a supervisor
 * restarts the server, and recovery runs, within about a second.
 */
export const STORE_FAILED_EXIT_DELAY_MS = 1_000;

/**
 * The most the closing after a store failure may take (sockets, the store's files and lock, the actor
 * system) before the process exits regardless: a disk that fails may also hang a call forever.
 */
export const STORE_FAILED_CLOSE_MS = 2_000;

export interface StoreFailure {
  /** `MUSTER_ERR_STORE_FAILED` and the store's message (it names the errno and the file). */
  readonly error: MusterError;
  /** The errno code (`EIO`, `ENOSPC`, …) and the file, when the cause says. */
  readonly errno: string | undefined;
  readonly file: string | undefined;
}

/**
 * What the server does about it: `exit` (a single server: its supervisor restarts it and recovery reads the
 * files) or `step-down` (a replica on etcd: the leader resigns and another replica, holding the state
 * already, takes over; a write refused `MUSTER_ERR_FENCED` means this replica was deposed already).
 */
export type StoreFailureMode = 'exit' | 'step-down';

export class StoreFailureWatch {
  readonly #log: Logger;
  readonly #mode: StoreFailureMode;
  #failure: StoreFailure | undefined;
  #settle!: (failure: StoreFailure) => void;
  /** Settles with the first failure, never rejects. */
  readonly failed: Promise<StoreFailure> = new Promise((resolve) => (this.#settle = resolve));

  constructor(log: Logger, mode: StoreFailureMode = 'exit') {
    this.#log = log;
    this.#mode = mode;
  }

  get failure(): StoreFailure | undefined {
    return this.#failure;
  }

  /** `inner`, reporting the first batch that fails to this watch (the batch's promise still rejects for the scheduler). */
  sink(inner: EventSink): EventSink {
    return {
      write: (events, firstSeq) => {
        let written: Promise<void> | undefined;
        try {
          written = inner.write(events, firstSeq);
        } catch (err) {
          this.fail(err);
          throw err;
        }
        written?.catch((err: unknown) => this.fail(err));
        return written;
      },
    };
  }

  /** The store failed: logged once at fatal with its cause; `failed` settles. Later failures are the same one. */
  fail(err: unknown): void {
    if (this.#failure !== undefined) return;
    const message = err instanceof Error ? err.message : String(err);
    const error = codeOf(err) === 'MUSTER_ERR_STORE_FAILED' ? (err as MusterError) : new MusterError('MUSTER_ERR_STORE_FAILED', message, { cause: err });
    const { errno, file } = failureCause(err);
    this.#failure = { error, errno, file };
    if (this.#mode === 'step-down') {
      if (codeOf(err) === 'MUSTER_ERR_FENCED') this.#log.warn({ code: 'MUSTER_ERR_FENCED', err: message }, 'a write was refused: another replica leads now (this one was deposed); stepping down');
      else this.#log.error({ code: error.code, err: message }, 'the event store in etcd failed: every waiting request is answered MUSTER_ERR_STORE_FAILED; stepping down for another replica to lead');
      this.#settle(this.#failure);
      return;
    }
    this.#log.fatal(
      { code: error.code, errno: errno ?? null, file: file ?? null, err: message, exitCode: STORE_FAILED_EXIT_CODE, exitInMs: STORE_FAILED_EXIT_DELAY_MS },
      `the event store failed (${errno ?? 'an error'} on ${file ?? 'the log'}): every waiting request is answered MUSTER_ERR_STORE_FAILED and nothing more is accepted; exiting with ${STORE_FAILED_EXIT_CODE} for a supervisor to restart the server and recover`,
    );
    this.#settle(this.#failure);
  }
}
