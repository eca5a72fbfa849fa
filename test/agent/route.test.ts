/**
 * AgentRoute's timing, as pure logic (the link's sockets are in leader-follow.test.ts): rounds in which
 * nothing answers back off exponentially to the ceiling; rounds in which replicas answered as standbys (an
 * election, a leader taking over) wait at most ELECTION_ROUND_MAX_MS however many came before, and never
 * less than the refusals' retryAfterMs; a connection resets the backoff.
 */
import t from 'tap';
import { AgentRoute, ELECTION_ROUND_MAX_MS } from '../../src/agent/index.js';
import type { Refusal } from '../../src/agent/index.js';
import { BACKOFF_MAX_MS } from '../../src/client/index.js';
import { createLogger } from '../../src/log/index.js';

const quiet = createLogger({ name: 'route-test', level: 'silent' });
const endpoints = ['ws://a/v1/agent', 'ws://b/v1/agent'];
const highest = (): number => 0.999;

/** One round over every endpoint, each failing with `refusal` (undefined: nothing answered); the delay it ends with. */
function round(route: AgentRoute, refusal?: Refusal): number {
  for (;;) {
    const url = route.next();
    const delay = route.failed(url, refusal ? 'HTTP 503 MUSTER_ERR_NOT_LEADER' : 'ECONNREFUSED', refusal);
    if (delay > 0) return delay;
  }
}

t.test('nothing answers: the backoff grows to its ceiling', async (t) => {
  const route = new AgentRoute(endpoints, quiet, highest);
  const delays = Array.from({ length: 10 }, () => round(route));
  t.ok(delays[0]! <= 200, `the first round waits little (${delays[0]} ms)`);
  t.ok(delays.at(-1)! >= BACKOFF_MAX_MS / 2 && delays.at(-1)! <= BACKOFF_MAX_MS, `later rounds wait about the ceiling (${delays.at(-1)} ms)`);
});

t.test('standbys answer with no leader: each round waits at most ELECTION_ROUND_MAX_MS, however many failed before', async (t) => {
  const route = new AgentRoute(endpoints, quiet, highest);
  for (let i = 0; i < 6; i++) round(route); // the servers were down for a while: the backoff has grown
  const standby: Refusal = { status: 503, code: 'MUSTER_ERR_NOT_LEADER', retryAfterMs: 100 };
  for (let i = 0; i < 5; i++) {
    const delay = round(route, standby);
    t.ok(delay <= ELECTION_ROUND_MAX_MS, `round ${i}: ${delay} ms`);
    t.ok(delay >= 100, 'never less than the refusal asked for');
  }
  t.ok(round(route) > ELECTION_ROUND_MAX_MS, 'a round where nothing answers backs off again');
});

t.test('a refusal asking for longer than the election bound is honoured', async (t) => {
  const route = new AgentRoute(endpoints, quiet, highest);
  t.equal(round(route, { status: 503, code: 'MUSTER_ERR_NOT_LEADER', retryAfterMs: 3_000 }), 3_000);
});

t.test('a connection resets the backoff', async (t) => {
  const route = new AgentRoute(endpoints, quiet, highest);
  for (let i = 0; i < 8; i++) round(route);
  route.connected(route.next());
  t.ok(route.lost() <= 200, 'the first round after a lost connection waits little');
});
