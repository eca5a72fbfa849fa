import t from 'tap';
import { closeSharedSystem, job, node, queue, simulate } from '../helpers/scheduler.js';

t.teardown(closeSharedSystem);

t.test('two queues with weights 2:1 under saturation share 2:1 (within 5 %)', async (t) => {
  const nodes = Array.from({ length: 10 }, (_, i) => ({ spec: node(`n${i}`, 'a', { cpu: '8', memory: '64Gi' }) }));
  const jobs = [
    ...Array.from({ length: 3000 }, () => ({ at: 0, tenant: 'acme', spec: job({ queue: 'heavy' }), durationMs: 1000 })),
    ...Array.from({ length: 3000 }, () => ({ at: 0, tenant: 'acme', spec: job({ queue: 'light' }), durationMs: 1000 })),
  ];
  // 80 one-cpu slots and 1 s tasks: 30 s of simulated time places about 2,400 tasks, far from draining either queue.
  const until = 30_000;
  const sim = await simulate(
    { sites: ['a'], queues: [queue({ name: 'heavy', weight: 2 }), queue({ name: 'light', weight: 1 })], nodes, jobs },
    until,
  );
  const report = { heavy: 0, light: 0 };
  for (const e of sim.events) {
    if (e.kind !== 'TaskStarted' || e.at >= until) continue;
    const q = sim.state.jobs.get(e.job)!.spec.queue as 'heavy' | 'light';
    report[q]++;
  }
  const ratio = report.heavy / report.light;
  t.ok(report.light > 500, `both queues ran (${JSON.stringify(report)})`);
  t.ok(Math.abs(ratio - 2) / 2 <= 0.05, `heavy:light = ${ratio.toFixed(3)} (${JSON.stringify(report)})`);
});

t.test('queue priority comes before fair share; a limit caps a queue', async (t) => {
  const nodes = [{ spec: node('n1', 'a', { cpu: '4', memory: '64Gi' }) }];
  const jobs = [
    ...Array.from({ length: 8 }, () => ({ at: 0, tenant: 'acme', spec: job({ queue: 'low' }), durationMs: 1000 })),
    ...Array.from({ length: 8 }, () => ({ at: 0, tenant: 'acme', spec: job({ queue: 'high' }), durationMs: 1000 })),
    ...Array.from({ length: 8 }, () => ({ at: 0, tenant: 'acme', spec: job({ queue: 'capped' }), durationMs: 1000 })),
  ];
  const sim = await simulate({
    sites: ['a'],
    queues: [queue({ name: 'low' }), queue({ name: 'high', priority: 10, limit: { cpu: '3' } }), queue({ name: 'capped', priority: 20, limit: { cpu: '1' } })],
    nodes,
    jobs,
  }, 999);
  const running = (q: string): number => [...sim.state.jobs.values()].filter((j) => j.spec.queue === q && j.status === 'running').length;
  t.same({ capped: running('capped'), high: running('high'), low: running('low') }, { capped: 1, high: 3, low: 0 });
});
