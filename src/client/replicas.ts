/**
 * Following the leader. Several `muster server` replicas may share one cluster; one leads, the others are
 * standbys that refuse every request with MUSTER_ERR_NOT_LEADER and, when they know it, the leader's URL
 * (PROTOCOL.md, "Replicas"). `Replicas` holds the configured endpoints and the one last found serving;
 * a `Round` is one pass over them, shared by the WebSocket session and the HTTP routes:
 *
 * - the endpoint last found serving first (it may be none of the configured ones: a standby named it),
 *   then the configured endpoints in their order, each at most once per round;
 * - a refusal that names the leader sends the round there next, even if it is not in the list; one that
 *   names none goes on to the next endpoint;
 * - a round that ends without a serving replica is followed by a backoff (the caller's), never by an
 *   immediate new round: replicas naming each other with stale views cannot make a busy loop.
 */
import { MusterError } from '../errors/index.js';
import type { Endpoint } from './endpoints.js';
import { parseEndpoint } from './endpoints.js';
import type { ServerError } from './server-error.js';

/**
 * Leaders named by refusals that one round follows. Each hop is one more request while a leader is being
 * elected; two replicas with stale views may name each other, so the hops are bounded per round (the
 * round then ends and the caller backs off). Four is past any real chain: a standby names the leader itself.
 */
export const MAX_LEADER_HINTS_PER_ROUND = 4;

/** The longest wait a refusal's `retryAfterMs` may impose on the next round: the backoff's own ceiling. */
const MAX_RETRY_AFTER_MS = 5_000;

export class Replicas {
  readonly configured: readonly Endpoint[];
  #leader: Endpoint | undefined;

  constructor(endpoints: readonly Endpoint[]) {
    if (endpoints.length === 0) throw new MusterError('MUSTER_ERR_REQUIRED', 'name at least one server endpoint');
    this.configured = endpoints;
  }

  /** The endpoint last found serving (the leader, as far as this client knows), if any. */
  get leader(): Endpoint | undefined {
    return this.#leader;
  }

  /** A new round: the leader last found first, then the configured endpoints; `first` before all of them. */
  round(first?: Endpoint): Round {
    const order = [...(first ? [first] : []), ...(this.#leader ? [this.#leader] : []), ...this.configured];
    return new Round(order, this);
  }

  /** `endpoint` served a request: the next round starts there. */
  found(endpoint: Endpoint): void {
    this.#leader = endpoint;
  }

  /** `endpoint` refused as a standby: if it was the leader found, it is no longer. */
  deposed(endpoint: Endpoint): void {
    if (this.#leader?.http === endpoint.http) this.#leader = undefined;
  }
}

/** One pass over the replicas: which endpoint next, and what each one said. */
export class Round {
  readonly #queue: Endpoint[];
  readonly #replicas: Replicas;
  readonly #tried = new Set<string>();
  readonly #causes: string[] = [];
  #hints = 0;
  /** Some replica answered MUSTER_ERR_NOT_LEADER: the cluster is up, without a leader this client could reach. */
  notLeader = false;
  /** The longest `retryAfterMs` a refusal asked for (bounded): the next round waits at least this long. */
  retryAfterMs = 0;

  constructor(order: readonly Endpoint[], replicas: Replicas) {
    this.#queue = [...order];
    this.#replicas = replicas;
  }

  /** The next endpoint to try, or undefined when the round is over. */
  next(): Endpoint | undefined {
    for (;;) {
      const endpoint = this.#queue.shift();
      if (endpoint === undefined) return undefined;
      if (this.#tried.has(endpoint.http)) continue;
      this.#tried.add(endpoint.http);
      return endpoint;
    }
  }

  /** `endpoint` could not be reached, or refused for another reason: `cause` says why. */
  failed(endpoint: Endpoint, cause: string): void {
    this.#causes.push(`${endpoint.http}: ${cause}`);
  }

  /**
   * `endpoint` refused with MUSTER_ERR_NOT_LEADER: the leader it names (if any, and if this round may still
   * follow one) is tried next. Returns the leader's endpoint when it will be tried.
   */
  refused(endpoint: Endpoint, err: ServerError): Endpoint | undefined {
    this.notLeader = true;
    this.#replicas.deposed(endpoint);
    if (err.retryAfterMs !== undefined) this.retryAfterMs = Math.min(MAX_RETRY_AFTER_MS, Math.max(this.retryAfterMs, err.retryAfterMs));
    const leader = leaderEndpoint(err);
    this.#causes.push(`${endpoint.http}: not the leader (${err.leader ? `the leader is ${err.leader.url}, epoch ${err.leader.epoch}` : 'no leader known'})`);
    if (!leader || this.#tried.has(leader.http) || this.#hints >= MAX_LEADER_HINTS_PER_ROUND) return undefined;
    this.#hints++;
    this.#queue.unshift(leader);
    return leader;
  }

  /** What each endpoint tried said, in order: `http://a:7070: not the leader (no leader known); http://b:7070: ECONNREFUSED`. */
  describe(): string {
    return this.#causes.length > 0 ? this.#causes.join('; ') : 'no endpoint tried';
  }
}

/** The leader a NOT_LEADER refusal names, as an endpoint (undefined: none, or not an address). */
export function leaderEndpoint(err: ServerError): Endpoint | undefined {
  if (!err.leader) return undefined;
  try {
    return parseEndpoint(err.leader.url);
  } catch {
    return undefined;
  }
}

/** A request gave up at its deadline because no replica would serve it. */
export function noLeaderError(waitedMs: number, round: Round): MusterError {
  return new MusterError(
    'MUSTER_ERR_NOT_LEADER',
    `no replica led within ${Math.round(waitedMs)} ms (an election takes a few seconds); tried: ${round.describe()}`,
  );
}
