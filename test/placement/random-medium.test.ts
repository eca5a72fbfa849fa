// Differential, part 2 of 2: many small random clusters (1 to 200 nodes; other seeds than part 1); ts, wasm, native agree exactly.
// (Two files so tap runs them in parallel; together with random-large they cover 10,050 clusters.)
import t from 'tap';
import { backendsUnderTest, requireAll, servingBackends } from './backends.js';
import { runSuite } from './differential.js';

t.test('random small clusters (seeds 5001..9950): identical decisions on every backend', async (t) => {
  for (const u of backendsUnderTest()) if (u.skip) (requireAll() ? t.fail : t.comment).call(t, u.skip);
  runSuite(t, servingBackends(), {
    cases: 4_950,
    firstSeed: 5_001,
    shapeOf: (seed) => ({ minNodes: 1, maxNodes: seed % 10 === 0 ? 200 : 40, rounds: 3, maxJobs: 12 }),
    minPlacedPerCase: 20,
  });
});
