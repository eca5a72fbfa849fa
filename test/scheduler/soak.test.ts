/**
 * The soak (issue 13, "Done when"): short jobs stream through a 1,000-node simulated fleet with a short
 * retention; the live job count and the heap must stop growing. `npm test` runs 200,000 jobs (about half a
 * minute here); `MUSTER_SOAK_JOBS=2000000 npx tap test/scheduler/soak.test.ts` runs the full two million
 * (so does `npm run bench -- scheduler`, case rss-growth).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import t from 'tap';
import { RETENTION_SWEEP_MS } from '../../src/scheduler/retention.js';
import { arrivalRate, JOB_MS, runSoak } from '../../src/scheduler/sim/soak.js';
import { closeSharedSystem, sharedSystem } from '../helpers/scheduler.js';

t.teardown(closeSharedSystem);

const JOBS = Number(process.env['MUSTER_SOAK_JOBS'] ?? 200_000);
const NODES = 1000;
/** Short, so the run reaches its steady state early: a job ended 2 s ago leaves. */
const RETENTION = { maxAgeMs: 2000, maxEndedPerTenant: 1_000_000_000, keyWindowMs: 60_000 };

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

t.test(`${JOBS} short jobs through ${NODES} nodes: live jobs and heap stay bounded`, { timeout: Math.max(300_000, JOBS * 1.5) }, async (t) => {
  const heap: number[] = [];
  const report = await runSoak({
    jobs: JOBS,
    nodes: NODES,
    retention: RETENTION,
    checkpointEvery: JOBS / 10,
    system: await sharedSystem(),
    onCheckpoint: () => void heap.push(heapAfterGc()),
  });
  t.equal(report.failed, 0, 'every job succeeded');
  t.equal(report.overcommits, 0);
  const last = report.checkpoints[report.checkpoints.length - 1]!;
  t.equal(last.ended, JOBS, 'every job ended');
  // What can be live at once: the jobs that arrived in the last run time plus retention (and the sweep), twice over.
  const bound = 2 * arrivalRate(NODES) * ((JOB_MS + RETENTION.maxAgeMs + RETENTION_SWEEP_MS) / 1000);
  t.ok(report.maxLive <= bound, `at most ${report.maxLive} live jobs at a checkpoint (bound ${bound})`);
  t.ok(last.retired >= JOBS - bound, `${last.retired} of ${JOBS} jobs retired by the end`);
  // Heap: from the second checkpoint on (the first includes warm-up: code, the fleet, the actors) it is flat.
  const [, settled, ...rest] = heap;
  const growth = Math.max(...rest) / settled!;
  t.ok(growth <= 1.25, `heap after ${JOBS} jobs is ${growth.toFixed(2)}× the heap after ${(2 * JOBS) / 10} (${heap.map((h) => (h / 2 ** 20).toFixed(0)).join(', ')} MiB at the checkpoints)`);
});
