/**
 * Paging through the job listing (`core.listJobs`, what `GET /v1/jobs` answers): every job is visited once,
 * in submission order (the number of its id), across queues, while jobs are submitted and end between pages.
 */
import t from 'tap';
import fc from 'fast-check';
import type { JobPage, JobQuery } from '../../src/scheduler/index.js';
import type { Simulation } from '../../src/scheduler/index.js';
import { closeSharedSystem, job, node, simulate } from '../helpers/scheduler.js';

t.teardown(closeSharedSystem);

const QUEUES = ['q0', 'q1', 'q2', 'q3'];

/** `j-N` → N: the server numbers jobs as they are submitted. */
function jobNumber(id: string): number {
  return Number(id.slice(2));
}

function idsOf(page: JobPage): string[] {
  return page.jobs.map((j) => j.id);
}

/** Every page of the listing, following `next`; `between` runs after each page but the last. */
async function allPages(sim: Simulation, query: Omit<JobQuery, 'after'> & { queue?: string }, between: (page: number) => Promise<void> = async () => {}): Promise<string[][]> {
  const pages: string[][] = [];
  let after: number | undefined;
  for (;;) {
    const page = await sim.core.listJobs({ ...query, ...(after !== undefined ? { after } : {}) });
    pages.push(idsOf(page));
    if (page.next === undefined) return pages;
    if (!/^\d+$/.test(page.next)) throw new Error(`the cursor ${page.next} is not a string of digits`);
    after = Number(page.next);
    await between(pages.length);
  }
}

t.test('6 jobs in 3 queues: every page size lists each job once, in submission order', async (t) => {
  const jobs = Array.from({ length: 6 }, (_, i) => ({ at: 0, spec: job({ queue: QUEUES[i % 3]! }, { resources: { cpu: '64', memory: '1Gi' } }) }));
  const sim = await simulate({ sites: ['a'], nodes: [node('n1')].map((spec) => ({ spec })), jobs });
  t.same(sim.jobIds, ['j-1', 'j-2', 'j-3', 'j-4', 'j-5', 'j-6']);
  for (const limit of [1, 2, 3, 4, 5, 6, 7]) {
    const pages = await allPages(sim, { limit });
    t.same(pages.flat(), sim.jobIds, `limit ${limit}`);
    t.ok(pages.every((p) => p.length <= limit && p.length > 0), `limit ${limit}: pages of at most ${limit}, none empty`);
  }
});

t.test('jobs that ran do not move a newer queue ahead: the listing stays in submission order', async (t) => {
  const sim = await simulate({
    sites: ['a'],
    nodes: [{ spec: node('n1') }],
    jobs: [
      ...Array.from({ length: 4 }, () => ({ at: 0, spec: job({ queue: 'old' }), durationMs: 100 })),
      ...Array.from({ length: 3 }, () => ({ at: 200, spec: job({ queue: 'old' }, { resources: { cpu: '64', memory: '1Gi' } }) })),
      { at: 300, spec: job({ queue: 'new' }, { resources: { cpu: '64', memory: '1Gi' } }) },
    ],
  });
  const page = await sim.core.listJobs({ limit: 100 });
  t.same(idsOf(page), ['j-1', 'j-2', 'j-3', 'j-4', 'j-5', 'j-6', 'j-7', 'j-8']);
  t.same(page.jobs.slice(0, 4).map((j) => j.status), ['succeeded', 'succeeded', 'succeeded', 'succeeded']);
});

/** What happens between two pages. */
type Step = { readonly kind: 'submit'; readonly queues: readonly number[] } | { readonly kind: 'run'; readonly ms: number } | { readonly kind: 'cancel'; readonly pick: number } | { readonly kind: 'none' };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('submit' as const), queues: fc.array(fc.integer({ min: 0, max: QUEUES.length - 1 }), { minLength: 1, maxLength: 4 }) }),
  fc.record({ kind: fc.constant('run' as const), ms: fc.integer({ min: 1, max: 400 }) }),
  fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }),
  fc.constant({ kind: 'none' as const }),
);

const session = fc.record({
  jobs: fc.array(fc.record({ queue: fc.integer({ min: 0, max: QUEUES.length - 1 }), at: fc.integer({ min: 0, max: 300 }), duration: fc.integer({ min: 10, max: 300 }) }), { minLength: 1, maxLength: 25 }),
  limit: fc.integer({ min: 1, max: 8 }),
  queue: fc.option(fc.integer({ min: 0, max: QUEUES.length - 1 }), { nil: undefined }),
  steps: fc.array(step, { minLength: 1, maxLength: 12 }),
});

t.test('property: paging visits every job once, in order, while jobs are submitted and end between pages', async (t) => {
  let runs = 0;
  await fc.assert(
    fc.asyncProperty(session, async (s) => {
      runs++;
      const sim = await simulate(
        {
          sites: ['a'],
          nodes: [{ spec: node('n1', 'a', { cpu: '2', memory: '4Gi' }) }],
          jobs: s.jobs.map((j) => ({ at: j.at, spec: job({ queue: QUEUES[j.queue]! }), durationMs: j.duration })),
        },
        150,
      );
      const queue = s.queue === undefined ? undefined : QUEUES[s.queue]!;
      // Every job there when the listing starts (none is retired: no retention here).
      const before = idsOf(await sim.core.listJobs({ limit: 1_000, ...(queue !== undefined ? { queue } : {}) }));
      const submittedBefore = sim.jobIds.filter((id): id is string => id !== undefined && (queue === undefined || sim.state.jobs.get(id)?.spec.queue === queue));
      if (JSON.stringify(before) !== JSON.stringify([...submittedBefore].sort((a, b) => jobNumber(a) - jobNumber(b)))) {
        throw new Error(`one page lists ${before.join(',')}, the jobs submitted are ${submittedBefore.join(',')}`);
      }
      const pages = await allPages(sim, { limit: s.limit, ...(queue !== undefined ? { queue } : {}) }, async (n) => {
        const next = s.steps[(n - 1) % s.steps.length]!;
        if (next.kind === 'submit') await sim.core.submit('default', next.queues.map((q) => job({ queue: QUEUES[q]! })));
        else if (next.kind === 'run') await sim.run(sim.clock.now() + next.ms);
        else if (next.kind === 'cancel') {
          const live = [...sim.state.jobs.keys()];
          await sim.core.cancel(live[next.pick % live.length]!).catch(() => undefined);
        }
      });
      const listed = pages.flat();
      if (pages.some((p) => p.length > s.limit || (p.length === 0 && pages.length > 1))) throw new Error(`a page is longer than ${s.limit}, or an empty page has a next one: ${JSON.stringify(pages)}`);
      for (let i = 1; i < listed.length; i++) {
        if (jobNumber(listed[i]!) <= jobNumber(listed[i - 1]!)) throw new Error(`out of submission order or listed twice: ${listed.join(',')}`);
      }
      const missing = before.filter((id) => !listed.includes(id));
      if (missing.length > 0) throw new Error(`pages of ${s.limit} never list ${missing.join(',')}: ${JSON.stringify(pages)}`);
      return true;
    }),
    { numRuns: 40, seed: 20261207 },
  );
  t.equal(runs >= 40, true, `${runs} sessions`);
});
