/**
 * The agent's endpoints: the servers as users name them (`http://host:7070`), as `/v1/agent` WebSocket
 * URLs, and where and when the link tries next (`AgentRoute`). Several replicas may serve one cluster; only
 * the leader takes agents, a standby refuses the upgrade with HTTP 503 MUSTER_ERR_NOT_LEADER and the
 * leader's URL when it knows it (`readRefusal` reads that answer).
 */
import type { IncomingMessage } from 'node:http';
import type { BackoffOptions } from '../client/index.js';
import { backoffDelay, MAX_LEADER_HINTS_PER_ROUND, parseEndpoints } from '../client/index.js';
import type { Logger } from '../log/index.js';

export function agentUrls(servers: string | readonly string[]): string[] {
  return parseEndpoints(servers).map((e) => e.submit.replace(/\/v1\/submit$/, '/v1/agent'));
}

/** The `/v1/agent` URL of one server address (a leader's URL as a refusal gives it), or undefined if it is none. */
export function agentUrl(server: string): string | undefined {
  try {
    return agentUrls(server)[0];
  } catch {
    return undefined;
  }
}

/** A refused upgrade, as far as its answer could be read. */
export interface Refusal {
  readonly status: number;
  readonly code?: string;
  readonly message?: string;
  readonly retryAfterMs?: number;
  /** With MUSTER_ERR_NOT_LEADER: the leader the standby knows of. */
  readonly leader?: { readonly url: string; readonly epoch: number };
}

/** How much of a refusal's body is read: an error body is a few hundred bytes. */
const MAX_REFUSAL_BYTES = 64 * 1024;

/** Reads a refused upgrade's JSON body, for at most `timeoutMs` (a body that does not end is passed over). */
export function readRefusal(res: IncomingMessage, timeoutMs: number): Promise<Refusal> {
  const status = res.statusCode ?? 0;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(parseRefusal(status, Buffer.concat(chunks)));
    };
    const timer = setTimeout(finish, timeoutMs);
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_REFUSAL_BYTES) chunks.push(chunk);
    });
    res.on('end', finish);
    res.on('close', finish);
    res.on('error', finish);
  });
}

function parseRefusal(status: number, body: Buffer): Refusal {
  let json: Record<string, unknown>;
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    if (typeof value !== 'object' || value === null) return { status };
    json = value as Record<string, unknown>;
  } catch {
    return { status };
  }
  const leader = json['leader'] as { url?: unknown; epoch?: unknown } | undefined;
  return {
    status,
    ...(typeof json['code'] === 'string' ? { code: json['code'] } : {}),
    ...(typeof json['message'] === 'string' ? { message: json['message'] } : {}),
    ...(typeof json['retryAfterMs'] === 'number' ? { retryAfterMs: json['retryAfterMs'] } : {}),
    ...(typeof leader?.url === 'string' && typeof leader.epoch === 'number' ? { leader: { url: leader.url, epoch: leader.epoch } } : {}),
  };
}

/** The longest wait a refusal's `retryAfterMs` may impose between rounds: the backoff's own ceiling. */
const MAX_RETRY_AFTER_MS = 5_000;

/**
 * The longest wait between rounds in which replicas answered but none took the agent (an election, or a
 * leader still taking over): a leader is about to serve, and the fence (14 s by default) must outlast two
 * failovers in a row. Unbounded, the backoff reached 4.7 s and agents missed a leader that served 2.3 s
 * before it too was killed; the chaos campaign saw agents fenced after 14 s without a connection. A second
 * keeps a fleet of 10,000 agents at about 13,000 refused upgrades a second across the replicas meanwhile,
 * which a standby answers without touching its state.
 */
export const ELECTION_ROUND_MAX_MS = 1_000;

/**
 * Where the link connects next, and when. A round is: the endpoint last connected to first (it led then,
 * and may be none of the configured ones), then the configured endpoints in order, each at most once. A
 * standby's refusal that names the leader puts the leader next (at most MAX_LEADER_HINTS_PER_ROUND times a
 * round: replicas with stale views naming each other cannot make a loop without a wait); one that names
 * none goes on to the next endpoint. When a round is over the link waits a jittered backoff (at least the
 * refusals' `retryAfterMs`; at most ELECTION_ROUND_MAX_MS when a replica refused as a standby) and starts
 * another; after a connection that opened is lost, too. Each refusal
 * and each failed round is one log line.
 */
export class AgentRoute {
  readonly #endpoints: readonly string[];
  readonly #log: Logger;
  readonly #backoff: BackoffOptions;
  #queue: string[] = [];
  readonly #tried: string[] = [];
  #hints = 0;
  #last: string | undefined;
  /** Rounds in a row without a connection: the backoff's exponent. */
  #rounds = 0;
  /** An endpoint of this round refused as a standby. */
  #standbys = false;
  #retryAfterMs = 0;

  constructor(endpoints: readonly string[], log: Logger, random?: () => number) {
    if (endpoints.length === 0) throw new RangeError('an agent link needs at least one endpoint');
    this.#endpoints = endpoints;
    this.#log = log;
    this.#backoff = random ? { random } : {};
    this.#restart();
  }

  /** The next URL to try. */
  next(): string {
    if (this.#queue.length === 0) this.#restart();
    const url = this.#queue.shift()!;
    this.#tried.push(url);
    return url;
  }

  /** A connection opened on `url`: later rounds start there, and the backoff starts over. */
  connected(url: string): void {
    this.#last = url;
    this.#rounds = 0;
  }

  /** The open connection was lost: the delay before a new round, which starts with `leader` when one was named. */
  lost(leader?: string): number {
    this.#restart(leader);
    return backoffDelay(this.#rounds++, this.#backoff);
  }

  /** Connecting to `url` failed (`failure`; `refusal`: the answer of a refused upgrade): the delay before the next try. */
  failed(url: string, failure: string, refusal?: Refusal): number {
    if (refusal) this.#refused(url, refusal);
    if (this.#queue.length > 0) return 0;
    const backoff = backoffDelay(this.#rounds++, this.#backoff);
    const delay = Math.max(this.#standbys ? Math.min(backoff, ELECTION_ROUND_MAX_MS) : backoff, this.#retryAfterMs);
    const tried = [...this.#tried];
    const retry = `trying again in ${(delay / 1000).toFixed(1)} s`;
    const fields = { endpoints: this.#endpoints, tried, last: failure, retryInS: Math.round(delay / 100) / 10 };
    this.#log.warn(fields, this.#standbys ? `no control plane replica leads now (${tried.join(', ')}); ${retry}` : `no control plane answers (${tried.join(', ')}); ${retry}`);
    this.#restart();
    return delay;
  }

  /** A refused upgrade in one line: a standby (and where the link goes now), a refused token, another refusal. */
  #refused(url: string, refusal: Refusal): void {
    const { status, code, message, leader } = refusal;
    if (code !== 'MUSTER_ERR_NOT_LEADER') {
      this.#log.error({ url, status, code, message }, status === 401 || status === 403 ? 'the server refused the agent token' : 'the server refused the connection');
      return;
    }
    const next = this.#standby(url, refusal);
    const then = next !== undefined ? `connecting to ${next}` : this.#queue.length > 0 ? 'trying the next endpoint' : 'no endpoint left in this round';
    const named = leader ? `the leader is ${leader.url} (epoch ${leader.epoch})` : 'no leader is known yet';
    this.#log.warn({ url, leader: leader?.url, epoch: leader?.epoch }, `${url}: not the leader; ${named}; ${then}`);
  }

  /** `url` refused as a standby: the leader it names is tried next when this round may still follow one (returned). */
  #standby(url: string, refusal: Refusal): string | undefined {
    this.#standbys = true;
    if (this.#last === url) this.#last = undefined;
    if (refusal.retryAfterMs !== undefined) this.#retryAfterMs = Math.min(MAX_RETRY_AFTER_MS, Math.max(this.#retryAfterMs, refusal.retryAfterMs));
    const leader = refusal.leader ? agentUrl(refusal.leader.url) : undefined;
    if (leader === undefined || this.#tried.includes(leader) || this.#hints >= MAX_LEADER_HINTS_PER_ROUND) return undefined;
    this.#hints++;
    this.#queue = [leader, ...this.#queue.filter((u) => u !== leader)];
    return leader;
  }

  #restart(first?: string): void {
    this.#queue = [...new Set([...(first !== undefined ? [first] : []), ...(this.#last !== undefined ? [this.#last] : []), ...this.#endpoints])];
    this.#tried.length = 0;
    this.#hints = 0;
    this.#standbys = false;
    this.#retryAfterMs = 0;
  }
}
