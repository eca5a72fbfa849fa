/**
 * `createClient`: the muster client. Submissions, cancels and watches go over one WebSocket to
 * `/v1/submit` (see `SubmitSession`); reads go over HTTP (see `HttpApi`). Both follow the leader among the
 * endpoints given (the replicas of one cluster; see `replicas.ts`) and share what they found.
 *
 * Every job submitted carries an idempotency key: the caller's, or one the client makes (a random prefix
 * per client and a counter), so a frame resent after a reconnect never creates a job twice.
 */
import { randomBytes } from 'node:crypto';
import { MusterError } from '../errors/index.js';
import type { BackoffOptions } from './backoff.js';
import { parseEndpoints } from './endpoints.js';
import type { Query } from './http-api.js';
import { HttpApi } from './http-api.js';
import type { ReplicaStatus } from './replica-status.js';
import { replicaFailure, replicaStatus } from './replica-status.js';
import { Replicas } from './replicas.js';
import type { SubmitResult } from './wire.js';
import { DEFAULT_BATCH_WINDOW_MS, DEFAULT_MAX_JOBS_PER_FRAME, SubmitBatcher } from './submit-batcher.js';
import { SubmitSession } from './submit-session.js';
import type { WatchOptions } from './watch.js';
import { Watch } from './watch.js';
import type {
  CancelResult,
  JobDetailView,
  JobPage,
  JobSpecInput,
  JobView,
  LeaderView,
  NodeView,
  QueueView,
  ServerFrame,
  SiteView,
  WatchFilter,
  WhyView,
} from './wire.js';

/** A request's reply deadline by default: generous, since a submit is answered only once it is durable. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** How long requests wait for a first connection (over every endpoint, with backoff) before failing. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** Job ids per cancel frame: cancels are small, but one frame should not hold an unbounded list. */
const MAX_CANCELS_PER_FRAME = 1_000;

export interface LogsOptions {
  /** The task (default 0). */
  readonly task?: number;
  /** The attempt (default: the task's newest). */
  readonly attempt?: number;
  readonly stream?: 'stdout' | 'stderr';
  readonly offset?: number;
}

export interface LogsPiece {
  readonly data: Buffer;
  readonly nextOffset: number;
  readonly attempt: number;
  /** The attempt is placed or running: more output may come. */
  readonly running: boolean;
  /** Where the piece was read: the agent that ran the attempt, or the control plane's copy of its ended output. */
  readonly source: 'agent' | 'control-plane';
  /** From the control plane's copy: the stream's whole size and where the kept part (its tail) starts; bytes before `from` were not kept. */
  readonly kept?: { readonly size: number; readonly from: number };
}

export interface ClientOptions {
  /**
   * Server endpoints (the replicas), tried in order: an array, or one comma-separated string. The client
   * follows the leader: a standby's refusal sends it to the leader it names, even one not listed here.
   */
  readonly endpoints: string | readonly string[];
  readonly token?: string;
  /** A request's deadline: the time it may take, including the wait for a leader during an election. */
  readonly requestTimeoutMs?: number;
  /** How long requests wait while no endpoint can be reached at all. */
  readonly connectTimeoutMs?: number;
  /** Automatic batching of `submit` calls: at most `maxJobs` per frame, gathered for `windowMs`. */
  readonly batch?: { readonly maxJobs?: number; readonly windowMs?: number };
  readonly backoff?: BackoffOptions;
  readonly maxFrameBytes?: number;
  readonly pingIntervalMs?: number;
}

export interface SubmitOptions {
  /** Admin only: submit on behalf of this tenant. */
  readonly tenant?: string;
  /**
   * Keep jobs no known node could ever run (pending, `muster why` says why) instead of having them refused
   * `MUSTER_ERR_UNSATISFIABLE`. Such a submission goes in frames of its own (the option is per frame).
   */
  readonly holdUnsatisfiable?: boolean;
}

export interface JobsQuery {
  readonly queue?: string;
  readonly tenant?: string;
  readonly status?: string;
  readonly name?: string;
  /** Submitted at or after this time (ms since the epoch). */
  readonly since?: number;
  /** Submitted before this time (ms since the epoch). */
  readonly until?: number;
  readonly limit?: number;
  readonly after?: string;
}

export interface NodesQuery {
  readonly site?: string;
  readonly state?: string;
}

export class MusterClient {
  readonly #replicas: Replicas;
  readonly #session: SubmitSession;
  readonly #http: HttpApi;
  readonly #batcher: SubmitBatcher;
  readonly #keyPrefix = `c-${randomBytes(9).toString('base64url')}-`;
  #keys = 0;

  constructor(options: ClientOptions) {
    // One view of who leads, shared: a leader the HTTP routes found is where the WebSocket goes, and back.
    this.#replicas = new Replicas(parseEndpoints(options.endpoints));
    const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const auth = options.token !== undefined ? { token: options.token } : {};
    const backoff = options.backoff ? { backoff: options.backoff } : {};
    this.#session = new SubmitSession({
      replicas: this.#replicas,
      ...auth,
      requestTimeoutMs,
      connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      ...backoff,
      ...(options.maxFrameBytes !== undefined ? { maxFrameBytes: options.maxFrameBytes } : {}),
      ...(options.pingIntervalMs !== undefined ? { pingIntervalMs: options.pingIntervalMs } : {}),
    });
    this.#http = new HttpApi({ replicas: this.#replicas, ...auth, timeoutMs: requestTimeoutMs, ...backoff });
    this.#batcher = new SubmitBatcher({
      maxJobs: options.batch?.maxJobs ?? DEFAULT_MAX_JOBS_PER_FRAME,
      windowMs: options.batch?.windowMs ?? DEFAULT_BATCH_WINDOW_MS,
      send: (jobs, tenant) => this.#sendSubmit(jobs, tenant),
    });
  }

  /** The WebSocket URL in use, or undefined while there is no connection. */
  get connectedTo(): string | undefined {
    return this.#session.connectedTo;
  }

  /** The HTTP base of the replica last found serving (the leader, as far as this client knows), if any yet. */
  get leader(): string | undefined {
    return this.#replicas.leader?.http;
  }

  /** Opens the WebSocket now (it otherwise opens with the first request). */
  connect(): Promise<void> {
    return this.#session.connect();
  }

  /**
   * Submits jobs; resolves once every accepted one is durable, with one result per spec, in order. Calls made
   * close together share frames. A spec without `idempotencyKey` gets one (the spec object is not changed).
   */
  submit(specs: readonly JobSpecInput[], options: SubmitOptions = {}): Promise<SubmitResult[]> {
    const keyed = specs.map((spec) => (typeof spec['idempotencyKey'] === 'string' ? spec : { ...spec, idempotencyKey: this.newIdempotencyKey() }));
    if (options.holdUnsatisfiable === true) return this.#submitHolding(keyed, options.tenant);
    return this.#batcher.add(keyed, options.tenant);
  }

  async #submitHolding(jobs: readonly JobSpecInput[], tenant: string | undefined): Promise<SubmitResult[]> {
    const frames: Promise<readonly SubmitResult[]>[] = [];
    for (let i = 0; i < jobs.length; i += DEFAULT_MAX_JOBS_PER_FRAME) frames.push(this.#sendSubmit(jobs.slice(i, i + DEFAULT_MAX_JOBS_PER_FRAME), tenant, true));
    return (await Promise.all(frames)).flat();
  }

  /** A fresh idempotency key (unique to this client object). */
  newIdempotencyKey(): string {
    return `${this.#keyPrefix}${(this.#keys++).toString(36)}`;
  }

  /** Cancels jobs; one result per id, in order, once the cancel requests are durable. */
  async cancel(ids: readonly string[]): Promise<CancelResult[]> {
    const frames: Promise<ServerFrame>[] = [];
    for (let i = 0; i < ids.length; i += MAX_CANCELS_PER_FRAME) {
      const jobs = ids.slice(i, i + MAX_CANCELS_PER_FRAME);
      frames.push(this.#session.request((id) => ({ kind: 'cancel', id, jobs })));
    }
    const replies = await Promise.all(frames);
    return replies.flatMap((reply) => expectKind(reply, 'cancelled').results);
  }

  /**
   * Job events matching `filter`, as an async iterable that resumes after a reconnect. `from`: the seq of the
   * last event already seen. `await watch.ready` waits until the server has confirmed the watch.
   */
  watch(filter: WatchFilter = {}, options: WatchOptions = {}): Watch {
    return this.#session.watch(new Watch(this.#session, filter, options));
  }

  jobs(query: JobsQuery = {}): Promise<JobPage> {
    return this.#http.get<JobPage>('/v1/jobs', query as Query);
  }

  /** Every job matching `query`, page after page. */
  async *allJobs(query: Omit<JobsQuery, 'after'> = {}): AsyncGenerator<JobView> {
    let after: string | undefined;
    do {
      const page = await this.jobs({ ...query, ...(after !== undefined ? { after } : {}) });
      yield* page.jobs;
      after = page.next;
    } while (after !== undefined);
  }

  job(id: string): Promise<JobDetailView> {
    return this.#http.get<JobDetailView>(`/v1/jobs/${encodeURIComponent(id)}`);
  }

  /**
   * A piece of a task's output (stdout by default) from `offset`: at most about 1 MiB per call; read on from
   * `nextOffset`. `running` says whether the attempt may still write more; `source` and `kept` whether it was
   * read from the control plane's copy (an ended attempt whose agent is gone), and what that copy kept.
   */
  async logs(id: string, options: LogsOptions = {}): Promise<LogsPiece> {
    const { data, headers } = await this.#http.getBytes(`/v1/jobs/${encodeURIComponent(id)}/logs`, {
      task: options.task,
      attempt: options.attempt,
      stream: options.stream,
      offset: options.offset,
    });
    const source = headers.get('muster-source') === 'control-plane' ? 'control-plane' : 'agent';
    const size = headers.get('muster-output-size');
    const from = headers.get('muster-output-from');
    return {
      data,
      nextOffset: Number(headers.get('muster-next-offset') ?? 0),
      attempt: Number(headers.get('muster-attempt') ?? 0),
      running: headers.get('muster-running') === 'true',
      source,
      ...(size !== null && from !== null ? { kept: { size: Number(size), from: Number(from) } } : {}),
    };
  }

  why(id: string): Promise<WhyView> {
    return this.#http.get<WhyView>(`/v1/jobs/${encodeURIComponent(id)}/why`);
  }

  async queues(): Promise<QueueView[]> {
    return (await this.#http.get<{ queues: QueueView[] }>('/v1/queues')).queues;
  }

  async nodes(query: NodesQuery = {}): Promise<NodeView[]> {
    return (await this.#http.get<{ nodes: NodeView[] }>('/v1/nodes', query as Query)).nodes;
  }

  /**
   * Admin: defines or updates queues (written form, as in spec files), all or none: an invalid one refuses
   * the request with every problem (`ServerError.problems`).
   */
  applyQueues(queues: readonly Readonly<Record<string, unknown>>[]): Promise<{ readonly applied: readonly { readonly name: string; readonly tenant: string; readonly created: boolean }[] }> {
    return this.#http.post('/v1/queues', { queues });
  }

  /**
   * Admin: deletes queues by name, all or none: a queue that does not exist, still has jobs that have not
   * ended, or has a child queue not named too refuses the request with every problem (`ServerError.problems`).
   */
  deleteQueues(names: readonly string[]): Promise<{ readonly deleted: readonly string[] }> {
    return this.#http.post('/v1/queues/delete', { queues: names });
  }

  /** Holds a job: its pending tasks are not placed until `release` (what runs goes on). */
  hold(id: string): Promise<{ readonly job: string; readonly ok: true }> {
    return this.#http.post(`/v1/jobs/${encodeURIComponent(id)}/hold`, {});
  }

  release(id: string): Promise<{ readonly job: string; readonly ok: true }> {
    return this.#http.post(`/v1/jobs/${encodeURIComponent(id)}/release`, {});
  }

  /** Kills a job's running tasks; they go back to pending without spending a retry. */
  requeue(id: string): Promise<{ readonly job: string; readonly ok: true }> {
    return this.#http.post(`/v1/jobs/${encodeURIComponent(id)}/requeue`, {});
  }

  /**
   * Admin: drains node `name` (no new work; what runs finishes; past `deadline`, a duration such as "10m",
   * what still runs is killed and requeued without spending a retry). Resolves once durable.
   */
  drainNode(name: string, deadline?: string): Promise<{ readonly node: string; readonly drained: true; readonly deadlineMs?: number }> {
    return this.#http.post(`/v1/nodes/${encodeURIComponent(name)}/drain`, deadline !== undefined ? { deadline } : {});
  }

  /** Admin: ends a drain; the node takes work again once ready. */
  undrainNode(name: string): Promise<{ readonly node: string; readonly drained: false }> {
    return this.#http.post(`/v1/nodes/${encodeURIComponent(name)}/undrain`, {});
  }

  async sites(): Promise<SiteView[]> {
    return (await this.#http.get<{ sites: SiteView[] }>('/v1/sites')).sites;
  }

  /**
   * What each configured endpoint says about leadership (`GET /v1/leader`, asked of each one, whatever its
   * role; no leader is followed), in the configured order; an endpoint that cannot be asked is a failure
   * with its code. `timeoutMs`: per endpoint (default: the request timeout).
   */
  replicaStatus(options: { readonly timeoutMs?: number } = {}): Promise<ReplicaStatus[]> {
    return Promise.all(
      this.#replicas.configured.map((endpoint) =>
        this.#http.getFrom<LeaderView>(endpoint, '/v1/leader', options.timeoutMs).then(
          (view) => replicaStatus(endpoint, view),
          (err: unknown) => replicaFailure(endpoint, err),
        ),
      ),
    );
  }

  /** Sends what is batched, then closes: requests still waiting fail with MUSTER_ERR_CLIENT_CLOSED, watches end. */
  async close(): Promise<void> {
    this.#batcher.flushAll();
    await this.#session.close();
  }

  async #sendSubmit(jobs: readonly JobSpecInput[], tenant: string | undefined, holdUnsatisfiable = false): Promise<readonly SubmitResult[]> {
    const reply = await this.#session.request((id) => ({ kind: 'submit', id, jobs, ...(tenant !== undefined ? { tenant } : {}), ...(holdUnsatisfiable ? { holdUnsatisfiable } : {}) }));
    return expectKind(reply, 'submitted').results;
  }
}

export function createClient(options: ClientOptions): MusterClient {
  return new MusterClient(options);
}

function expectKind<K extends ServerFrame['kind']>(frame: ServerFrame, kind: K): Extract<ServerFrame, { kind: K }> {
  if (frame.kind !== kind) throw new MusterError('MUSTER_ERR_INTERNAL', `the server answered ${JSON.stringify(frame.kind)} where ${JSON.stringify(kind)} was expected`);
  return frame as Extract<ServerFrame, { kind: K }>;
}
