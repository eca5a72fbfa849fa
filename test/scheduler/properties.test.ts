import t from 'tap';
import fc from 'fast-check';
import type { NodeSpec } from '../../src/model/index.js';
import type { SimJob } from '../../src/scheduler/index.js';
import { closeSharedSystem, job, liveJobs, node, rebuiltJobs, simulate } from '../helpers/scheduler.js';

t.teardown(closeSharedSystem);

/**
 * A random feasible workload: every task fits on the smallest node of every site, and every gang (and every
 * distinct-nodes job) has no more tasks than the smallest site has nodes, so each job can run somewhere.
 */
const workload = fc
  .record({
    sites: fc.integer({ min: 1, max: 2 }),
    nodesPerSite: fc.integer({ min: 1, max: 5 }),
    capacities: fc.array(fc.record({ cpu: fc.integer({ min: 2, max: 8 }), memory: fc.integer({ min: 4, max: 16 }), gpu: fc.integer({ min: 0, max: 2 }) }), { minLength: 10, maxLength: 10 }),
    jobs: fc.array(
      fc.record({
        at: fc.integer({ min: 0, max: 1000 }),
        cpu: fc.integer({ min: 1, max: 20 }),
        memory: fc.integer({ min: 1, max: 4 }),
        count: fc.integer({ min: 1, max: 3 }),
        array: fc.integer({ min: 1, max: 3 }),
        gang: fc.boolean(),
        distinct: fc.boolean(),
        spread: fc.boolean(),
        retries: fc.integer({ min: 0, max: 2 }),
        failFirst: fc.boolean(),
        duration: fc.integer({ min: 10, max: 500 }),
        dependsOn: fc.option(fc.nat(), { nil: undefined }),
      }),
      { minLength: 1, maxLength: 20 },
    ),
  })
  .map((w) => {
    const sites = ['a', 'b'].slice(0, w.sites);
    const nodes: NodeSpec[] = [];
    sites.forEach((site, s) => {
      for (let i = 0; i < w.nodesPerSite; i++) {
        const c = w.capacities[(s * 5 + i) % w.capacities.length]!;
        nodes.push(node(`${site}-${i}`, site, { cpu: String(c.cpu), memory: `${c.memory}Gi`, gpu: c.gpu }));
      }
    });
    const minCpu = Math.min(...nodes.map((n) => n.capacity.cpu));
    const minMemory = Math.min(...nodes.map((n) => n.capacity.memory));
    // In arrival order, job i gets id j-(i+1), so a dependency on an earlier index names a known job.
    const arrivals = [...w.jobs].sort((x, y) => x.at - y.at);
    const jobs: SimJob[] = arrivals.map((j, i) => {
      const count = j.gang || j.distinct ? Math.min(j.count, w.nodesPerSite) : j.count;
      const cpu = Math.max(100, Math.floor((minCpu * j.cpu) / 20));
      const memory = Math.max(64, Math.floor((minMemory * j.memory) / 4));
      const dependencies = j.dependsOn !== undefined && i > 0 ? [`afterany:j-${(j.dependsOn % i) + 1}`] : [];
      return {
        at: j.at,
        spec: job(
          { gang: j.gang, distinctNodes: j.distinct, strategy: j.spread ? 'spread' : 'binpack', array: j.array, retries: { max: j.retries, backoff: '100ms' }, dependencies },
          { count, resources: { cpu: `${cpu}m`, memory: `${memory}Mi` } },
        ),
        behaviour: (_task, attempt) => (j.failFirst && attempt === 1 ? { durationMs: j.duration, outcome: 'failed', exitCode: 1 } : { durationMs: j.duration, outcome: 'succeeded' }),
      };
    });
    return { sites, nodes, jobs };
  });

t.test('every job of a feasible workload ends; no node is over-committed; live state equals the rebuild', async (t) => {
  let runs = 0;
  await fc.assert(
    fc.asyncProperty(workload, async (w) => {
      runs++;
      const sim = await simulate({ sites: w.sites, nodes: w.nodes.map((spec) => ({ spec })), jobs: w.jobs });
      const statuses = sim.jobIds.map((id) => sim.state.jobs.get(id ?? '')?.status);
      const terminal = statuses.every((s) => s === 'succeeded' || s === 'failed' || s === 'cancelled');
      if (!terminal) throw new Error(`not every job ended: ${JSON.stringify(statuses)}`);
      if (sim.jobIds.length !== w.jobs.length) throw new Error('a job was not submitted');
      // A job fails only when it failed more often than it may retry.
      w.jobs.forEach((j, i) => {
        const status = statuses[i];
        if (status === 'cancelled') throw new Error(`job ${i} cancelled`);
        if (status === 'failed' && !(j.spec.retries.max === 0)) throw new Error(`job ${i} failed despite retries`);
      });
      for (const [name, n] of sim.state.nodes) {
        if (n.allocations.size !== 0 || n.allocated.cpu !== 0 || n.allocated.memory !== 0) throw new Error(`node ${name} still holds allocations`);
      }
      if (sim.overcommits.length > 0) throw new Error(`over-committed: ${JSON.stringify(sim.overcommits[0])}`);
      const live = await liveJobs(sim);
      const rebuilt = rebuiltJobs(sim.state);
      if (JSON.stringify([...live].sort()) !== JSON.stringify([...rebuilt].sort())) throw new Error('live state differs from the rebuild');
      const snapshots = await sim.core.nodeSnapshots();
      if (snapshots.some((s) => s.allocations.length > 0)) throw new Error('a node actor still holds an allocation');
      return true;
    }),
    { numRuns: 40, seed: 20261127 },
  );
  t.equal(runs >= 40, true, `${runs} workloads`);
});
