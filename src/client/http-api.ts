/**
 * The HTTP JSON routes (PROTOCOL.md, HTTP routes) over `node:http` (http-request.ts). Error bodies become a `ServerError`
 * with the server's code and the HTTP status.
 *
 * Which replica answers (replicas.ts): the one last found serving first, then the configured endpoints. An
 * endpoint that cannot be reached is skipped; a standby's MUSTER_ERR_NOT_LEADER sends the request to the
 * leader it names, else to the next endpoint; any other answer, even an error, is the answer. A round in
 * which no replica could be reached fails at once (MUSTER_ERR_UNREACHABLE); a round in which some replica
 * answered as a standby is tried again after a backoff, until the request's deadline (`timeoutMs` from
 * the call), and then fails with MUSTER_ERR_NOT_LEADER naming what each endpoint said. Every request
 * here is safe to send to another replica: a standby's refusal did nothing.
 */
import { MusterError } from '../errors/index.js';
import type { BackoffOptions } from './backoff.js';
import { roundDelay } from './backoff.js';
import type { Endpoint } from './endpoints.js';
import type { HttpAnswer, HttpRequester, ResponseHeaders } from './http-request.js';
import { requestHttp } from './http-request.js';
import type { Replicas, Round } from './replicas.js';
import { noLeaderError } from './replicas.js';
import { NOT_LEADER, serverError } from './server-error.js';
import type { ServerError } from './server-error.js';

export type Query = Readonly<Record<string, string | number | undefined>>;

export interface HttpOptions {
  readonly replicas: Replicas;
  readonly token?: string;
  /** A request's deadline, from the call: across every endpoint and round. */
  readonly timeoutMs: number;
  /** The wait between rounds that found only standbys. */
  readonly backoff?: BackoffOptions;
  /** `requestHttp` by default; tests may count or fail calls. */
  readonly request?: HttpRequester;
}

export function queryString(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** An answer read whole (bodies are small: JSON views, or at most about 1 MiB of a task's output). */
type Answer = HttpAnswer;

export class HttpApi {
  readonly #options: HttpOptions;
  readonly #send: HttpRequester;

  constructor(options: HttpOptions) {
    this.#options = options;
    this.#send = options.request ?? requestHttp;
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.#call<T>('GET', `${path}${queryString(query)}`);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.#call<T>('POST', path, body);
  }

  /** A route that answers bytes (a task's output): the body and the response headers. */
  async getBytes(path: string, query?: Query): Promise<{ readonly data: Buffer; readonly headers: ResponseHeaders }> {
    const target = `${path}${queryString(query)}`;
    const answer = await this.#request('GET', target, undefined, 'application/octet-stream');
    if (!answer.ok) throw failed(answer, 'GET', target);
    return { data: answer.data, headers: answer.headers };
  }

  /** GET from this one endpoint, whatever its role (`GET /v1/leader` of each replica); no other endpoint is tried. */
  async getFrom<T>(endpoint: Endpoint, path: string, timeoutMs: number = this.#options.timeoutMs): Promise<T> {
    let answer: Answer;
    try {
      answer = await this.#sendOnce(endpoint, 'GET', path, undefined, 'application/json', timeoutMs);
    } catch (err) {
      const failure = requestFailure(err, endpoint, 'GET', path, timeoutMs);
      throw failure.code === 'MUSTER_ERR_UNREACHABLE' ? new MusterError(failure.code, `cannot reach ${endpoint.http} (${failure.message})`) : failure;
    }
    return parsed<T>(answer, 'GET', path);
  }

  async #call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return parsed<T>(await this.#request(method, path, body, 'application/json'), method, path);
  }

  async #request(method: string, path: string, body: unknown, accept: string): Promise<Answer> {
    const started = performance.now();
    const deadline = started + this.#options.timeoutMs;
    let standbys: Round | undefined;
    for (let attempt = 0; ; attempt++) {
      const round = this.#options.replicas.round();
      for (let endpoint = round.next(); endpoint !== undefined; endpoint = round.next()) {
        const remaining = deadline - performance.now();
        if (remaining <= 0) throw noLeaderError(performance.now() - started, standbys ?? round);
        let answer: Answer;
        try {
          answer = await this.#sendOnce(endpoint, method, path, body, accept, remaining);
        } catch (err) {
          // The request's deadline passed while a replica was asked: a standby seen before says why.
          if (isTimeout(err) && standbys) throw noLeaderError(performance.now() - started, standbys);
          const failure = requestFailure(err, endpoint, method, path, this.#options.timeoutMs);
          if (failure.code === 'MUSTER_ERR_REQUEST_TIMEOUT') throw failure;
          round.failed(endpoint, failure.message);
          continue;
        }
        const refusal = notLeader(answer);
        if (refusal) {
          round.refused(endpoint, refusal);
          continue;
        }
        this.#options.replicas.found(endpoint);
        return answer;
      }
      if (!round.notLeader) throw new MusterError('MUSTER_ERR_UNREACHABLE', `cannot reach the muster server (${round.describe()})`);
      standbys = round;
      const remaining = deadline - performance.now();
      if (remaining <= 0) throw noLeaderError(performance.now() - started, round);
      const delay = roundDelay(attempt, true, round.retryAfterMs, this.#options.backoff);
      // Not unref'd: a command waiting for a leader must not exit with its request unanswered.
      await new Promise((resolve) => setTimeout(resolve, Math.min(delay, remaining)));
    }
  }

  async #sendOnce(endpoint: Endpoint, method: string, path: string, body: unknown, accept: string, timeoutMs: number): Promise<Answer> {
    const headers: Record<string, string> = { accept };
    if (this.#options.token) headers['authorization'] = `Bearer ${this.#options.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    // The timeout covers the body too: a replica that sends headers and then stalls cannot hold the caller.
    return this.#send(`${endpoint.http}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}), timeoutMs });
  }
}

function isTimeout(err: unknown): boolean {
  return (err as Error).name === 'TimeoutError';
}

/** A failed request as the client's code: MUSTER_ERR_REQUEST_TIMEOUT past the deadline, else MUSTER_ERR_UNREACHABLE with the cause. */
function requestFailure(err: unknown, endpoint: Endpoint, method: string, path: string, timeoutMs: number): MusterError {
  if (isTimeout(err)) return new MusterError('MUSTER_ERR_REQUEST_TIMEOUT', `no answer from ${endpoint.http} to ${method} ${path} within ${timeoutMs} ms`);
  return new MusterError('MUSTER_ERR_UNREACHABLE', networkCause(err));
}

/** A standby's refusal (503 with MUSTER_ERR_NOT_LEADER), or undefined for any other answer. */
function notLeader(answer: Answer): ServerError | undefined {
  if (answer.status !== 503) return undefined;
  const err = serverError(jsonOf(answer.data) ?? {}, answer.status);
  return err.code === NOT_LEADER ? err : undefined;
}

function jsonOf(data: Buffer): unknown {
  try {
    return data.length === 0 ? undefined : JSON.parse(data.toString('utf8'));
  } catch {
    return undefined;
  }
}

function parsed<T>(answer: Answer, method: string, path: string): T {
  if (!answer.ok) throw failed(answer, method, path);
  const json = jsonOf(answer.data);
  if (json === undefined) throw new MusterError('MUSTER_ERR_INTERNAL', `${method} ${path}: the server answered ${answer.status} without a JSON body`);
  return json as T;
}

/** A refused request as the server's coded error (its JSON body), or an internal one if the body is not JSON. */
function failed(answer: Answer, method: string, path: string): Error {
  const json = jsonOf(answer.data);
  return serverError(json ?? { code: 'MUSTER_ERR_INTERNAL', message: `${method} ${path}: HTTP ${answer.status} ${answer.data.toString('utf8').slice(0, 200)}` }, answer.status);
}

/** A request fails with the real reason (ECONNREFUSED, ENOTFOUND, …) in `cause`. */
function networkCause(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message;
}
