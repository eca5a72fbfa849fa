import t from 'tap';
import { BACKOFF_BASE_MS, BACKOFF_MAX_MS, backoffDelay, roundDelay } from '../../src/client/index.js';

t.test('the delay doubles per round within [step/2, step] and stops growing at the maximum', async (t) => {
  const cases: { attempt: number; random: number; want: number }[] = [
    { attempt: 0, random: 0, want: BACKOFF_BASE_MS / 2 },
    { attempt: 0, random: 0.999999, want: BACKOFF_BASE_MS },
    { attempt: 1, random: 0, want: BACKOFF_BASE_MS },
    { attempt: 3, random: 0.5, want: Math.round(BACKOFF_BASE_MS * 8 * 0.75) },
    { attempt: 20, random: 0, want: BACKOFF_MAX_MS / 2 },
    { attempt: 5000, random: 0.999999, want: BACKOFF_MAX_MS },
  ];
  for (const c of cases) t.equal(backoffDelay(c.attempt, { random: () => c.random }), c.want, `attempt ${c.attempt}, random ${c.random}`);
});

t.test('options override the base and the maximum', async (t) => {
  t.equal(backoffDelay(0, { baseMs: 10, random: () => 0 }), 5);
  t.equal(backoffDelay(10, { baseMs: 10, maxMs: 40, random: () => 0.999999 }), 40);
});

t.test('jitter spreads clients that failed together', async (t) => {
  const delays = new Set(Array.from({ length: 50 }, () => backoffDelay(4)));
  t.ok(delays.size > 10, `${delays.size} distinct delays out of 50`);
  for (const d of delays) t.ok(d >= BACKOFF_BASE_MS * 8 && d <= BACKOFF_BASE_MS * 16);
});

t.test('roundDelay: while standbys answer, the refusal\'s retryAfterMs jittered, not growing; else the backoff', async (t) => {
  const low = { random: () => 0 };
  const high = { random: () => 0.999 };
  for (const attempt of [0, 3, 10]) {
    t.equal(roundDelay(attempt, true, 100, low), 100, `an election: retryAfterMs at least (attempt ${attempt})`);
    t.ok(roundDelay(attempt, true, 100, high) <= 150, 'and never more than half of it again');
  }
  t.equal(roundDelay(10, false, 0, low), BACKOFF_MAX_MS / 2, 'nothing answers: the exponential backoff');
  t.equal(roundDelay(0, false, 400, low), 400, 'never shorter than a refusal asked for');
  t.equal(roundDelay(6, true, 0, low), roundDelay(6, false, 0, low), 'standbys that ask for no wait: the backoff');
});
