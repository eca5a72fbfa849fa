import t from 'tap';
import { Simulation } from '../../src/scheduler/index.js';
import type { JobSpec, NodeSpec } from '../../src/model/index.js';
import { validateJob, validateNode } from '../../src/model/index.js';

function node(name: string, site: string): NodeSpec {
  const v = validateNode({ name, site, capacity: { cpu: 4, memory: '8Gi' } });
  if (!v.ok) throw new Error('bad node');
  return v.value;
}
function job(cpu: string): JobSpec {
  const v = validateJob({ queue: 'default', tasks: [{ resources: { cpu, memory: '1Gi' }, command: 'true' }] });
  if (!v.ok) throw new Error('bad job');
  return v.value;
}

t.test('jobs run to the end', async (t) => {
  const sim = await Simulation.create({
    script: { sites: ['a'], nodes: [{ spec: node('n1', 'a') }, { spec: node('n2', 'a') }], jobs: Array.from({ length: 20 }, (_, i) => ({ at: i * 10, spec: job('1'), durationMs: 500 })) },
    keepEvents: true,
  });
  t.teardown(() => sim.close());
  const report = await sim.run();
  t.same(report.overcommits, []);
  const statuses = [...sim.state.jobs.values()].map((j) => j.status);
  t.same(statuses, Array(20).fill('succeeded'));
  t.equal(report.placements, 20);
});
