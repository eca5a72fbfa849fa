/**
 * A client that submits batch after batch of keyed jobs through the client library and records every job
 * the server acknowledged (idempotency key → id), for the server-kill runs. A submission that fails
 * (the connection lost with the server, a timeout) acknowledged nothing: the same keys are sent again, so a
 * batch that was made durable just before a crash comes back `existing` with its first ids. The key is also
 * the job's name, so a listing of the jobs says which key each one came from.
 */
import type { MusterClient } from '../../src/client/index.js';
import { createClient } from '../../src/client/index.js';

/** Every wait of a submission: a restart on a loaded machine takes seconds, a hang is a failure. */
const REQUEST_TIMEOUT_MS = 30_000;
/** The client's reconnect backoff tops out here rather than at 5 s: servers come back within a second or two. */
const BACKOFF_MAX_MS = 500;

/** A job that no node will take (there are none): it stays pending, one submitted event. */
export function keyedJob(key: string): Record<string, unknown> {
  return { queue: 'default', name: key, idempotencyKey: key, tasks: [{ resources: { cpu: '1', memory: '64Mi' }, command: ['true'] }] };
}

export class Submitter {
  /** Key → the id the server acknowledged for it. */
  readonly acked = new Map<string, string>();
  /** A key acknowledged with two different ids: a broken idempotency promise. */
  readonly conflicts: string[] = [];
  /** Submissions that failed (and were sent again). */
  failures = 0;
  readonly #client: MusterClient;
  readonly #name: string;
  readonly #batch: number;
  #stopping = false;
  #loop: Promise<void> | undefined;

  constructor(name: string, url: string, token: string, batch: number) {
    this.#name = name;
    this.#batch = batch;
    this.#client = createClient({ endpoints: url, token, requestTimeoutMs: REQUEST_TIMEOUT_MS, connectTimeoutMs: REQUEST_TIMEOUT_MS, backoff: { maxMs: BACKOFF_MAX_MS }, batch: { windowMs: 0 } });
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  async #run(): Promise<void> {
    for (let n = 0; !this.#stopping; ) {
      const keys = Array.from({ length: this.#batch }, (_, k) => `${this.#name}-${n}-${k}`);
      try {
        const results = await this.#client.submit(keys.map(keyedJob));
        results.forEach((r, k) => {
          if (!r.ok) return;
          const key = keys[k]!;
          const before = this.acked.get(key);
          if (before !== undefined && before !== r.job) this.conflicts.push(`${key}: acknowledged as ${before}, then as ${r.job}`);
          this.acked.set(key, r.job);
        });
        n++;
      } catch {
        this.failures++;
      }
    }
  }

  /** Ends after the submission in flight has its answer (or fails), then closes the client. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#loop;
    await this.#client.close();
  }
}
