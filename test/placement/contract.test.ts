// The placement contract on fixed cases with known answers, run against every backend.
import t from 'tap';
import type { NodeChange, PlacementRequest, ReasonCounts } from '../../src/placement/index.js';
import { backendsUnderTest, requireAll } from './backends.js';
import { makeJob, makeNode, res } from './fixtures.js';

interface Case {
  name: string;
  nodes: NodeChange[];
  jobs: PlacementRequest[];
  /** Per job: the node of each task (−1: not placed). */
  want: number[][];
  status?: string[];
  reasons?: (Partial<ReasonCounts> | undefined)[];
  /** Free cpu of each node afterwards. */
  freeCpu?: number[];
}

const three = (): NodeChange[] => [makeNode(0).build(), makeNode(1).build(), makeNode(2).build()];
const NONE: ReasonCounts = { notReady: 0, labels: 0, distinct: 0, cpu: 0, memory: 0, gpu: 0, extended: 0 };

const cases: Case[] = [
  {
    name: 'binpack fills the lowest-indexed node first',
    nodes: three(),
    jobs: [makeJob().task(5, { cpu: 1000 }).build()],
    want: [[0, 0, 0, 0, 1]],
    freeCpu: [0, 3000, 4000],
  },
  {
    name: 'a placement takes its resources at once: later jobs of the batch see it',
    nodes: three(),
    jobs: [makeJob().task(1, { cpu: 3000 }).build(), makeJob().task(1, { cpu: 2000 }).build(), makeJob().task(1, { cpu: 1000 }).build()],
    want: [[0], [1], [0]],
  },
  {
    name: 'spread picks the emptiest node (cpu + memory score), lowest index on ties',
    nodes: three(),
    jobs: [makeJob().task(4, { cpu: 1000, memory: 1024 }).spread().build()],
    want: [[0, 1, 2, 0]],
  },
  {
    name: 'spread scores free fractions, not amounts',
    nodes: [makeNode(0).cpu(64000).memory(65536).free(res({ cpu: 32000, memory: 32768 })).build(), makeNode(1).cpu(2000).memory(2048).build()],
    jobs: [makeJob().task(1, { cpu: 500 }).spread().build()],
    want: [[1]],
  },
  {
    name: 'only ready nodes take work',
    nodes: [makeNode(0).state('draining').build(), makeNode(1).state('suspect').build(), makeNode(2).build(), makeNode(3).state('down').build()],
    jobs: [makeJob().task(2, { cpu: 3000 }).build()],
    want: [[2, -1]],
    status: ['partial'],
    reasons: [{ notReady: 3, cpu: 1 }],
  },
  {
    name: 'selectors: = and != (which matches nodes without the key)',
    nodes: [makeNode(0).label('zone', 'a').build(), makeNode(1).label('zone', 'b').build(), makeNode(2).build()],
    jobs: [makeJob().task(1, { cpu: 100 }).select('zone=b').build(), makeJob().task(2, { cpu: 100 }).select('zone!=a').distinct().build()],
    want: [[1], [1, 2]],
  },
  {
    name: 'selectors: in, notin, exists',
    nodes: [makeNode(0).label('disk', 'hdd').build(), makeNode(1).label('disk', 'ssd').build(), makeNode(2).label('disk', 'nvme').build(), makeNode(3).build()],
    jobs: [
      makeJob().task(1, { cpu: 100 }).select('disk in (ssd,nvme)').spread().build(),
      makeJob().task(4, { cpu: 100 }).select('disk notin (ssd,nvme)').distinct().build(),
      makeJob().task(4, { cpu: 100 }).select('disk').distinct().build(),
    ],
    want: [[1], [0, 3, -1, -1], [0, 1, 2, -1]],
    reasons: [undefined, { labels: 2, distinct: 2 }, { labels: 1, distinct: 3 }],
  },
  {
    name: 'a selector on a value no node has matches nothing (=, in) or everything (!=, notin)',
    nodes: [makeNode(0).label('zone', 'a').build()],
    jobs: [
      makeJob().task(1, { cpu: 1 }).select('zone=zz').build(),
      makeJob().task(1, { cpu: 1 }).select('zone in (x,y)').build(),
      makeJob().task(1, { cpu: 1 }).select('zone!=zz').select('zone notin (x)').build(),
      makeJob().task(1, { cpu: 1 }).select('rack').build(),
    ],
    want: [[-1], [-1], [0], [-1]],
    reasons: [{ labels: 1 }, { labels: 1 }, undefined, { labels: 1 }],
  },
  {
    name: 'distinctNodes: no two tasks of the job on one node',
    nodes: three(),
    jobs: [makeJob().task(4, { cpu: 100 }).distinct().build()],
    want: [[0, 1, 2, -1]],
    status: ['partial'],
    reasons: [{ distinct: 3 }],
  },
  {
    name: 'gang: all or none, and a failed gang gives everything back',
    nodes: three(),
    jobs: [makeJob().task(3, { cpu: 3000 }).task(1, { cpu: 4000 }).gang().build(), makeJob().task(1, { cpu: 4000 }).build()],
    want: [[-1, -1, -1, -1], [0]],
    status: ['unplaced', 'placed'],
    reasons: [{ cpu: 3 }],
    freeCpu: [0, 4000, 4000],
  },
  {
    name: 'gang of groups that fits',
    nodes: three(),
    jobs: [makeJob().task(2, { cpu: 2000 }).task(2, { cpu: 1000 }).gang().spread().build()],
    want: [[0, 1, 2, 2]],
  },
  {
    name: 'reasons name the first short dimension: cpu, memory, gpu, extended',
    nodes: [
      makeNode(0).cpu(1000).build(),
      makeNode(1).memory(100).build(),
      makeNode(2).gpu(0).build(),
      makeNode(3).gpu(1).build(),
      makeNode(4).gpu(2).ext('fpga', 1).build(),
    ],
    jobs: [makeJob().task(1, { cpu: 2000, memory: 1000, gpu: 2, extended: { fpga: 2 } }).build()],
    want: [[-1]],
    reasons: [{ cpu: 1, memory: 1, gpu: 2, extended: 1 }],
  },
  {
    name: 'extended resources are exact',
    nodes: [makeNode(0).ext('fpga', 1).build(), makeNode(1).ext('fpga', 2).build()],
    jobs: [makeJob().task(3, { cpu: 10, extended: { fpga: 1 } }).build(), makeJob().task(1, { cpu: 10, extended: { licence: 1 } }).build()],
    want: [[0, 1, 1], [-1]],
    reasons: [undefined, { extended: 2 }],
  },
  {
    name: 'zero requests fit any ready node; a request of exactly the free amount fits',
    nodes: [makeNode(0).state('lost').build(), makeNode(1).cpu(1000).memory(0).build()],
    jobs: [makeJob().task(1, {}).build(), makeJob().task(1, { cpu: 1000 }).build(), makeJob().task(1, { cpu: 1 }).build()],
    want: [[1], [1], [-1]],
    reasons: [undefined, undefined, { notReady: 1, cpu: 1 }],
  },
  {
    name: 'a non-gang job places what fits, group by group',
    nodes: [makeNode(0).build()],
    jobs: [makeJob().task(2, { cpu: 3000 }).task(2, { cpu: 500 }).build()],
    want: [[0, -1, 0, 0]],
    status: ['partial'],
    reasons: [{ cpu: 1 }],
  },
];

for (const under of backendsUnderTest()) {
  const skip = !under.backend && !requireAll() ? (under.skip ?? 'unavailable') : false;
  t.test(`contract: ${under.name}`, { skip }, async (t) => {
    if (!under.backend) {
      t.fail(under.skip ?? 'backend missing');
      return;
    }
    for (const c of cases) {
      const table = under.backend.createTable({ capacity: 16 });
      table.apply(c.nodes);
      const result = table.place(c.jobs);
      const jobs = result.jobs();
      t.same(jobs.map((j) => j.nodes), c.want, `${c.name}: nodes`);
      if (c.status) t.same(jobs.map((j) => j.status), c.status, `${c.name}: status`);
      c.reasons?.forEach((r, j) => {
        if (r) t.same(jobs[j]?.reasons, { ...NONE, ...r }, `${c.name}: reasons of job ${j}`);
        else t.equal(jobs[j]?.reasons, undefined, `${c.name}: no reasons for job ${j}`);
      });
      if (c.freeCpu) t.same(c.freeCpu.map((_, i) => table.node(i)?.free.cpu), c.freeCpu, `${c.name}: free cpu`);
      table.dispose();
    }
  });
}
