// Differential: larger random clusters (500 to 5,000 nodes, bigger batches); ts, wasm, native agree exactly.
import t from 'tap';
import { backendsUnderTest, requireAll, servingBackends } from './backends.js';
import { runSuite } from './differential.js';

t.test('random large clusters: identical decisions on every backend', async (t) => {
  for (const u of backendsUnderTest()) if (u.skip) (requireAll() ? t.fail : t.comment).call(t, u.skip);
  runSuite(t, servingBackends(), {
    cases: 150,
    firstSeed: 1_000_000,
    shapeOf: (seed) => ({ minNodes: 500, maxNodes: seed % 25 === 0 ? 5_000 : 1_500, rounds: 2, maxJobs: 60 }),
    minPlacedPerCase: 200,
  });
});
