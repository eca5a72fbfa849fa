import t from 'tap';
import type { LivenessChange } from '../../src/scheduler/index.js';
import { DEFAULT_LIVENESS, MIN_FENCE_MARGIN_MS, NodeLiveness, resolveLiveness } from '../../src/scheduler/index.js';

/** Ticks every `step` ms from `from` to `to`, collecting the changes with the time they were seen. */
function run(l: NodeLiveness, from: number, to: number, step = 250, beat: (now: number) => void = () => {}): (LivenessChange & { at: number })[] {
  const out: (LivenessChange & { at: number })[] = [];
  for (let now = from; now <= to; now += step) {
    beat(now);
    for (const c of l.tick(now)) out.push({ ...c, at: now });
  }
  return out;
}

t.test('a silent node is suspect after missed heartbeats and lost after the grace period', async (t) => {
  const l = new NodeLiveness();
  l.register('n1', 'a', 0);
  l.register('n2', 'a', 0);
  const changes = run(l, 0, 6000, 250, (now) => l.heartbeat('n2', now));
  t.same(
    changes.map((c) => [c.node, c.state, c.at]),
    [
      ['n1', 'suspect', DEFAULT_LIVENESS.suspectAfterMs],
      ['n1', 'lost', DEFAULT_LIVENESS.lostAfterMs],
    ],
  );
  t.ok(DEFAULT_LIVENESS.lostAfterMs <= 5000, 'a dead node is detected within 5 s by default');
  t.equal(l.state('n2'), 'ready', 'a node that heartbeats stays ready');
});

t.test('a closed connection makes a node suspect at once; coming back makes it ready, even after lost', async (t) => {
  const l = new NodeLiveness();
  l.register('n1', 'a', 0);
  t.same(l.disconnected('n1', 500), { node: 'n1', site: 'a', state: 'suspect', reason: 'its connection closed' });
  t.equal(l.disconnected('n1', 600), undefined, 'told twice, decided once');
  t.same(l.heartbeat('n1', 1000)?.state, 'ready', 'a heartbeat before the grace period ends: ready again');
  l.disconnected('n1', 2000);
  const changes = run(l, 2000, 8000);
  t.same(changes.map((c) => [c.state, c.at]), [['lost', 1000 + DEFAULT_LIVENESS.lostAfterMs]], 'lost counted from the last heartbeat');
  const back = l.register('n1', 'a', 9000);
  t.equal(back?.state, 'ready', 'a lost node that registers again is ready');
  t.same(run(l, 9000, 10_000, 250, (now) => l.heartbeat('n1', now)), []);
});

t.test('heartbeats of unknown nodes are ignored; a node moving site is watched in its new site', async (t) => {
  const l = new NodeLiveness();
  t.equal(l.heartbeat('ghost', 0), undefined);
  t.same(l.tick(10_000), []);
  l.register('n1', 'a', 0);
  l.register('n1', 'b', 100);
  t.equal(l.state('n1'), 'ready');
  l.forget('n1');
  t.equal(l.state('n1'), undefined);
  t.same(run(l, 10_000, 20_000), [], 'a forgotten node is never declared lost');
});

t.test('most of a site going silent at once is a partition: held, then released at a bounded rate', async (t) => {
  const l = new NodeLiveness({ siteHoldMs: 10_000, siteLostPerSecond: 2 });
  const names = Array.from({ length: 10 }, (_, i) => `a${i}`);
  for (const n of names) l.register(n, 'a', 0);
  l.register('b0', 'b', 0);
  // Site a goes silent at once, except a0 and a1 which keep going; b0 dies alone (a lone death).
  const beat = (now: number): void => {
    l.heartbeat('a0', now);
    l.heartbeat('a1', now);
  };
  const changes = run(l, 0, 9_750, 250, beat);
  const lost = changes.filter((c) => c.state === 'lost');
  t.same(lost.map((c) => c.node), ['b0'], 'during the hold only the lone death in another site is lost');
  t.equal(changes.filter((c) => c.state === 'suspect' && c.site === 'a').length, 8, 'the silent nodes are suspect');
  t.same(l.unreachableSites(), [{ site: 'a', since: DEFAULT_LIVENESS.suspectAfterMs }]);

  // After the hold (10 s from 2.5 s), two per second; a5 comes back meanwhile and is not declared lost.
  const later = run(l, 10_000, 20_000, 250, (now) => {
    beat(now);
    if (now >= 13_000) l.heartbeat('a5', now);
  });
  const released = later.filter((c) => c.state === 'lost');
  t.ok(released.length >= 6 && released.length <= 7, `released ${released.length}: the 7 silent ones at 2 per second`);
  const first = released[0]!.at;
  t.ok(first >= 12_500, `none before the hold ends (first at ${first})`);
  for (let i = 2; i < released.length; i++) t.ok(released[i]!.at - released[i - 2]!.at >= 750, 'at most two per second');
  t.notOk(released.some((c) => c.node === 'a5'), 'a node that came back is not lost');
  t.equal(l.state('a5'), 'ready', 'it is ready again');
});

t.test('a site with a few silent nodes is not a partition; options are checked', async (t) => {
  const l = new NodeLiveness();
  for (let i = 0; i < 4; i++) l.register(`n${i}`, 'a', 0);
  const changes = run(l, 0, 6000, 250, (now) => {
    l.heartbeat('n0', now);
    l.heartbeat('n1', now);
  });
  t.same(changes.filter((c) => c.state === 'lost').map((c) => c.node).sort(), ['n2', 'n3'], 'half of a site is not most of it');
  t.same(l.unreachableSites(), []);
  t.throws(() => new NodeLiveness({ suspectAfterMs: 5000, lostAfterMs: 4000 }), RangeError);
});

t.test('the server stalling is not the nodes\' fault: a long gap between ticks gives every node a fresh grace period', async (t) => {
  const l = new NodeLiveness();
  l.register('busy', 'a', 0);
  l.register('quiet', 'a', 0);
  // busy heartbeats until the server stalls at 1,000 ms; quiet has been silent since it registered.
  t.same(run(l, 0, 1000, 250, (now) => l.heartbeat('busy', now)), []);
  // 9 s without a tick (the process was stopped): the heartbeats sent meanwhile are read only after it.
  t.same(l.tick(10_000), [], 'the tick after the stall judges nobody');
  t.equal(l.stalls, 1, 'the stall is counted');
  t.equal(l.lastStallMs, 9_000);
  const after = run(l, 10_250, 20_000, 250, (now) => l.heartbeat('busy', now));
  t.same(after.filter((c) => c.node === 'busy'), [], 'a node that heartbeats again right after the stall never became suspect');
  t.same(
    after.map((c) => [c.node, c.state, c.at]),
    [
      ['quiet', 'suspect', 10_000 + DEFAULT_LIVENESS.suspectAfterMs],
      ['quiet', 'lost', 10_000 + DEFAULT_LIVENESS.lostAfterMs],
    ],
    'a node silent since before the stall is judged from the end of the stall, with its whole grace period',
  );
});

t.test('without ticks far apart nothing is forgiven: a gap of one heartbeat interval is not a stall', async (t) => {
  const l = new NodeLiveness();
  l.register('n1', 'a', 0);
  const changes = run(l, 0, 6000, DEFAULT_LIVENESS.heartbeatMs);
  t.equal(l.stalls, 0);
  t.same(changes.map((c) => c.state), ['suspect', 'lost'], 'a silent node is still lost when the server ticks at its slowest normal pace');
});

t.test('liveness timing: the fence is shorter than the lost timeout by a margin; every problem is reported at once', async (t) => {
  t.equal(resolveLiveness({}).options.fenceMs, DEFAULT_LIVENESS.fenceMs, 'the default fence');
  t.equal(resolveLiveness({ lostAfterMs: 10_000, suspectAfterMs: 5_000 }).options.fenceMs, 9_000, 'a longer lost timeout moves the default fence with it');
  t.equal(resolveLiveness({ heartbeatMs: 200, suspectAfterMs: 600, lostAfterMs: 1200 }).options.fenceMs, 900, 'short timings keep a quarter of lostAfterMs as the margin');
  t.same(resolveLiveness({}).problems, []);
  const bad = resolveLiveness({ fenceMs: 4_000 - MIN_FENCE_MARGIN_MS + 1 }).problems;
  t.equal(bad.length, 1);
  t.match(bad[0], /fenceMs .* must be at least 250 ms shorter than lostAfterMs/);
  const many = resolveLiveness({ heartbeatMs: 6_000, fenceMs: 3_900, suspectAfterMs: 5_000, lostAfterMs: 4_000 }).problems;
  t.equal(many.length, 4, `four problems at once: ${many.join(' | ')}`);
  t.throws(() => new NodeLiveness({ fenceMs: 3_900 }), /fenceMs \(3900\) must be at least/);
});
