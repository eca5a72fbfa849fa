/**
 * Accounting at the edges: what a candidate's unplaced tasks refund keeps every dimension, extended
 * resources included (a partial refund used to drop them, so a queue stayed charged for GPUs-like
 * resources it never got).
 */
import t from 'tap';
import type { Candidate } from '../../src/scheduler/candidates.js';
import { scaleDemand } from '../../src/scheduler/cycle-coordinator.js';

const candidate = (tasks: number, demand: Candidate['demand']): Candidate => ({ tasks: Array.from({ length: tasks }, (_, i) => i), demand }) as unknown as Candidate;

t.test('a partial refund scales every dimension, extended resources included', async (t) => {
  const c = candidate(4, { cpu: 4000, memory: 8192, gpu: 4, extended: { 'example.com/fpga': 8 } });
  t.same(scaleDemand(c, 1), { cpu: 1000, memory: 2048, gpu: 1, extended: { 'example.com/fpga': 2 } }, 'one task of four: a quarter of each');
  t.same(scaleDemand(c, 4), c.demand, 'all unplaced: the whole demand');
  t.same(scaleDemand(c, 0), { cpu: 0, memory: 0, gpu: 0, extended: { 'example.com/fpga': 0 } });
});
