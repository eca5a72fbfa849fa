/**
 * The failover benchmark's client: one client of the library as built (dist/), given every replica's URL,
 * submitting a small frame of fresh jobs every `SUBMIT_EVERY_MS` whatever happens (open loop: frames made
 * while no replica leads wait in the client and go to the leader it finds next, as a tenant's would). For
 * each acknowledgement it records when it arrived (this process's monotonic clock), which replica sent it
 * (the one the client's connection is on when the answer comes in: `client.leader`) and each job's key and
 * id; it also records when the client's connection moved (sampled every `CONNECTION_SAMPLE_MS`). A refused
 * job or a failed submission is recorded as a failure: the run is then not correct and reports no number.
 */
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { importBuilt } from './lib/index.js';

type ClientModule = typeof import('../src/client/index.js');
type MusterClient = import('../src/client/index.js').MusterClient;
type SubmitResult = import('../src/client/index.js').SubmitResult;

/**
 * A frame every 100 ms: a failover takes seconds, so frames are always waiting in the client when a new
 * leader serves, and the first of them is sent as soon as the client reaches it.
 */
export const SUBMIT_EVERY_MS = 100;

/**
 * Jobs per frame: a small batch. 20 jobs a second keep the state a leader holds at a kill to tens of
 * thousands of pending jobs over a full run (a takeover costs time in proportion to them: the first run,
 * at 100 jobs a second, reached 94,000).
 */
export const JOBS_PER_FRAME = 2;

/** How often the connection's replica is sampled: the resolution of the "client connected" step. */
const CONNECTION_SAMPLE_MS = 5;

/**
 * A request's deadline: frames wait in the client through a failover (seconds) and are answered by the new
 * leader; one that is not answered within a minute is a failure of the run.
 */
const REQUEST_TIMEOUT_MS = 60_000;

export interface AckedJob {
  readonly key: string;
  readonly id: string;
}

export interface Ack {
  /** When the answer arrived, `performance.now()` of this process. */
  readonly at: number;
  /** The replica that answered (its URL's origin, `http://127.0.0.1:PORT`). */
  readonly replica: string;
  readonly jobs: readonly AckedJob[];
  /** Jobs answered `existing`: a frame sent again after its connection was lost, already written. */
  readonly existing: number;
}

/** The client's connection moved to `replica` (undefined: no connection) at `at`. */
export interface ConnectionChange {
  readonly at: number;
  readonly replica: string | undefined;
}

/** The job every frame carries (`JOBS_PER_FRAME` copies, each with its own key): one small task. */
export function benchJob(key: string): Record<string, unknown> {
  return { queue: 'default', idempotencyKey: key, tasks: [{ resources: { cpu: '1', memory: '64Mi' }, command: ['true'] }] };
}

/** `http://127.0.0.1:PORT` for any URL of a replica (`ws://…/v1/submit` included). */
export function origin(url: string): string {
  const u = new URL(url);
  return `http://${u.host}`;
}

export class ContinuousSubmitter {
  readonly acks: Ack[] = [];
  readonly connections: ConnectionChange[] = [];
  readonly failures: string[] = [];
  readonly #client: MusterClient;
  readonly #runKey = `failover-${randomBytes(6).toString('base64url')}`;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #wakers = new Set<() => void>();
  #frames = 0;
  #ticker: NodeJS.Timeout | undefined;
  #sampler: NodeJS.Timeout | undefined;
  #connectedTo: string | undefined;

  private constructor(client: MusterClient) {
    this.#client = client;
  }

  /** A client on `endpoints` (every replica), submitting from now on. */
  static async start(endpoints: readonly string[], token: string): Promise<ContinuousSubmitter> {
    const lib = await importBuilt<ClientModule>('client/index.js');
    const client = lib.createClient({ endpoints, token, requestTimeoutMs: REQUEST_TIMEOUT_MS, connectTimeoutMs: REQUEST_TIMEOUT_MS, batch: { maxJobs: JOBS_PER_FRAME, windowMs: 0 } });
    const submitter = new ContinuousSubmitter(client);
    await client.connect();
    submitter.#sampleConnection();
    submitter.#sampler = setInterval(() => submitter.#sampleConnection(), CONNECTION_SAMPLE_MS);
    submitter.#ticker = setInterval(() => submitter.#submitFrame(), SUBMIT_EVERY_MS);
    return submitter;
  }

  /** Jobs submitted so far (acknowledged or not). */
  get submitted(): number {
    return this.#frames * JOBS_PER_FRAME;
  }

  /** The first ack at index `from` or later that `holds`, now or when it comes; rejects after `timeoutMs`. */
  waitForAck(holds: (ack: Ack) => boolean, from: number, timeoutMs: number): Promise<Ack> {
    return new Promise((resolve, reject) => {
      let scanned = from;
      const check = (): boolean => {
        if (this.failures.length > 0) {
          done();
          reject(new Error(`a submission failed: ${this.failures[0]}`));
          return true;
        }
        for (; scanned < this.acks.length; scanned++) {
          const ack = this.acks[scanned]!;
          if (holds(ack)) {
            done();
            resolve(ack);
            return true;
          }
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no acknowledgement as awaited within ${timeoutMs} ms (${this.acks.length - from} acks since; connections: ${JSON.stringify(this.connections.slice(-5))})`));
      }, timeoutMs);
      const waker = (): void => void check();
      const done = (): void => {
        clearTimeout(timer);
        this.#wakers.delete(waker);
      };
      if (!check()) this.#wakers.add(waker);
    });
  }

  /** Stops submitting, waits for every frame sent to be answered (or fail), closes the client. */
  async stop(): Promise<void> {
    clearInterval(this.#ticker);
    clearInterval(this.#sampler);
    await Promise.all([...this.#inFlight]);
    await this.#client.close();
  }

  #submitFrame(): void {
    const frame = this.#frames++;
    const keys = Array.from({ length: JOBS_PER_FRAME }, (_, i) => `${this.#runKey}-${frame * JOBS_PER_FRAME + i}`);
    const sent = this.#client.submit(keys.map(benchJob)).then(
      (results) => this.#acknowledged(keys, results),
      (err: unknown) => this.#failed(`frame ${frame}: ${(err as { code?: string }).code ?? ''} ${(err as Error).message}`),
    );
    this.#inFlight.add(sent);
    void sent.finally(() => this.#inFlight.delete(sent));
  }

  #acknowledged(keys: readonly string[], results: readonly SubmitResult[]): void {
    const at = performance.now();
    const leader = this.#client.leader;
    if (leader === undefined) return this.#failed(`an ack for ${keys[0]} came with no replica known`);
    const jobs: AckedJob[] = [];
    let existing = 0;
    for (const [i, r] of results.entries()) {
      if (!r.ok) return this.#failed(`job ${keys[i]} was refused: ${r.code}: ${r.message}`);
      jobs.push({ key: keys[i]!, id: r.job });
      if (r.existing) existing++;
    }
    if (jobs.length !== keys.length) return this.#failed(`${results.length} results for ${keys.length} jobs`);
    this.acks.push({ at, replica: origin(leader), jobs, existing });
    this.#wake();
  }

  #failed(message: string): void {
    this.failures.push(message);
    this.#wake();
  }

  #wake(): void {
    for (const wake of [...this.#wakers]) wake();
  }

  #sampleConnection(): void {
    const url = this.#client.connectedTo;
    const replica = url === undefined ? undefined : origin(url);
    if (replica === this.#connectedTo && this.connections.length > 0) return;
    this.#connectedTo = replica;
    this.connections.push({ at: performance.now(), replica });
  }
}
