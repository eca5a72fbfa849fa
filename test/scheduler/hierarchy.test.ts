import t from 'tap';
import type { WhyAnswer } from '../../src/scheduler/core.js';
import type { Simulation } from '../../src/scheduler/sim/harness.js';
import { closeSharedSystem, job, node, queue, simulate } from '../helpers/scheduler.js';

t.teardown(closeSharedSystem);

/** Tasks started per queue before `until` (1-cpu, 1 s tasks: a measure of the share each queue got). */
function started(sim: Simulation, until: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of sim.events) {
    if (e.kind !== 'TaskStarted' || e.at >= until) continue;
    const q = sim.state.jobs.get(e.job)!.spec.queue;
    out[q] = (out[q] ?? 0) + 1;
  }
  return out;
}

/** Cpu (millicores) the queue's running tasks hold now. */
function holding(sim: Simulation, q: string): number {
  let cpu = 0;
  for (const j of sim.state.jobs.values()) {
    if (j.spec.queue !== q) continue;
    for (const task of j.tasks) if (task.state === 'running' || task.state === 'placed') cpu += 1000;
  }
  return cpu;
}

function flood(queueName: string, count: number, durationMs = 1000) {
  return Array.from({ length: count }, () => ({ at: 0, tenant: 'acme', spec: job({ queue: queueName }), durationMs }));
}

const tenNodes = Array.from({ length: 10 }, (_, i) => ({ spec: node(`n${i}`, 'a', { cpu: '8', memory: '64Gi' }) }));

function reasons(answer: WhyAnswer): string[] {
  if (answer.status !== 'pending') return [answer.message];
  return answer.why.reasons.map((r) => ('message' in r ? String(r.message) : JSON.stringify(r)));
}

t.test('shares split top-down: two children of one parent share its half, not a third each', async (t) => {
  const until = 30_000;
  const sim = await simulate({
    sites: ['a'],
    queues: [queue({ name: 'org' }), queue({ name: 'org/x' }), queue({ name: 'org/y' }), queue({ name: 'solo' })],
    nodes: tenNodes,
    jobs: [...flood('org/x', 3000), ...flood('org/y', 3000), ...flood('solo', 3000)],
  }, until);
  const s = started(sim, until);
  const all = (s['org/x'] ?? 0) + (s['org/y'] ?? 0) + (s['solo'] ?? 0);
  t.ok(all > 1500, `work ran (${JSON.stringify(s)})`);
  const share = (q: string): number => (s[q] ?? 0) / all;
  // Flat fairness would give each a third; the tree gives solo half and each child a quarter.
  t.ok(Math.abs(share('solo') - 0.5) <= 0.025, `solo ${share('solo').toFixed(3)} of the tasks (${JSON.stringify(s)})`);
  t.ok(Math.abs(share('org/x') - 0.25) <= 0.025, `org/x ${share('org/x').toFixed(3)}`);
  t.ok(Math.abs(share('org/y') - 0.25) <= 0.025, `org/y ${share('org/y').toFixed(3)}`);
});

t.test('weights apply at every level', async (t) => {
  const until = 30_000;
  const sim = await simulate({
    sites: ['a'],
    queues: [queue({ name: 'org', weight: 3 }), queue({ name: 'org/x', weight: 2 }), queue({ name: 'org/y' }), queue({ name: 'solo' })],
    nodes: tenNodes,
    jobs: [...flood('org/x', 3000), ...flood('org/y', 3000), ...flood('solo', 3000)],
  }, until);
  const s = started(sim, until);
  const all = (s['org/x'] ?? 0) + (s['org/y'] ?? 0) + (s['solo'] ?? 0);
  // org takes 3/4 (weight 3 against 1), split 2:1 inside: org/x 1/2, org/y 1/4, solo 1/4.
  t.ok(Math.abs((s['org/x'] ?? 0) / all - 0.5) <= 0.025, `org/x (${JSON.stringify(s)})`);
  t.ok(Math.abs((s['org/y'] ?? 0) / all - 0.25) <= 0.025, `org/y (${JSON.stringify(s)})`);
  t.ok(Math.abs((s['solo'] ?? 0) / all - 0.25) <= 0.025, `solo (${JSON.stringify(s)})`);
});

t.test('a guarantee is served before fair share: a light queue with half the cluster guaranteed gets half', async (t) => {
  const until = 30_000;
  const sim = await simulate({
    sites: ['a'],
    queues: [queue({ name: 'promised', weight: 1, guaranteedShare: 0.5 }), queue({ name: 'heavy', weight: 4 })],
    nodes: tenNodes,
    jobs: [...flood('promised', 3000), ...flood('heavy', 3000)],
  }, until);
  const s = started(sim, until);
  const all = (s['promised'] ?? 0) + (s['heavy'] ?? 0);
  // Weights alone would give promised a fifth.
  t.ok(Math.abs((s['promised'] ?? 0) / all - 0.5) <= 0.025, `promised ${((s['promised'] ?? 0) / all).toFixed(3)} (${JSON.stringify(s)})`);
});

t.test('borrowing: up to the borrowing limit beyond the guarantee, none with borrow: false; why-pending says which', async (t) => {
  const sim = await simulate({
    sites: ['a'],
    queues: [
      queue({ name: 'lender', guarantee: { cpu: '40' } }),
      queue({ name: 'borrower', guarantee: { cpu: '8' }, borrowLimit: { cpu: '4' } }),
      queue({ name: 'keeper', guarantee: { cpu: '6' }, borrow: false }),
    ],
    nodes: tenNodes,
    jobs: [...flood('borrower', 100, 60_000), ...flood('keeper', 100, 60_000)],
  }, 5_000);
  t.equal(holding(sim, 'borrower'), 12_000, 'the borrower holds its 8 guaranteed cpus and 4 borrowed');
  t.equal(holding(sim, 'keeper'), 6_000, 'a queue that may not borrow holds its guarantee only');
  const pendingOf = (q: string): string => [...sim.state.jobs.values()].find((j) => j.spec.queue === q && j.status === 'pending')!.id;
  t.match(reasons(await sim.core.whyPending(pendingOf('borrower'))), [/queue borrower is over its borrowing limit/]);
  t.match(reasons(await sim.core.whyPending(pendingOf('keeper'))), [/queue keeper may not borrow beyond its guarantee/]);
});

t.test("a parent's limit binds its children together; why-pending names the parent", async (t) => {
  const sim = await simulate({
    sites: ['a'],
    queues: [queue({ name: 'team', limit: { cpu: '5' } }), queue({ name: 'team/a' }), queue({ name: 'team/b' }), queue({ name: 'team/b/deep' })],
    nodes: tenNodes,
    jobs: [...flood('team/a', 50, 60_000), ...flood('team/b/deep', 50, 60_000)],
  }, 5_000);
  t.equal(holding(sim, 'team/a') + holding(sim, 'team/b/deep'), 5_000, 'the subtree holds the parent limit, no more');
  t.ok(holding(sim, 'team/a') >= 2_000 && holding(sim, 'team/b/deep') >= 2_000, 'shared between the children');
  const pendingOf = (q: string): string => [...sim.state.jobs.values()].find((j) => j.spec.queue === q && j.status === 'pending')!.id;
  t.match(reasons(await sim.core.whyPending(pendingOf('team/a'))), [/its parent team is at its limit/]);
  t.match(reasons(await sim.core.whyPending(pendingOf('team/b/deep'))), [/its ancestor team is at its limit/]);
});

t.test("a queue's own jobs share with its children as one more child", async (t) => {
  const until = 30_000;
  const sim = await simulate({
    sites: ['a'],
    queues: [queue({ name: 'org' }), queue({ name: 'org/x' })],
    nodes: tenNodes,
    jobs: [...flood('org', 3000), ...flood('org/x', 3000)],
  }, until);
  const s = started(sim, until);
  const all = (s['org'] ?? 0) + (s['org/x'] ?? 0);
  t.ok(Math.abs((s['org'] ?? 0) / all - 0.5) <= 0.025, `org's own jobs half (${JSON.stringify(s)})`);
});
