import t from 'tap';
import fc from 'fast-check';
import {
  add,
  dominantShare,
  equals,
  fits,
  formatResources,
  isZero,
  limits,
  resources,
  scale,
  shortfall,
  subtract,
  trySubtract,
  withinLimit,
  ZERO,
} from '../../src/model/index.js';
import type { Resources } from '../../src/model/index.js';

const amount = fc.integer({ min: 0, max: limits.MAX_QUANTITY });
const extendedNames = fc.constantFrom('fpga', 'licence', 'example.com/widget');
const vector: fc.Arbitrary<Resources> = fc.record({
  cpu: amount,
  memory: amount,
  gpu: fc.integer({ min: 0, max: 64 }),
  extended: fc.dictionary(extendedNames, fc.integer({ min: 0, max: 1000 }), { maxKeys: 3 }),
});

t.test('a + b - b == a', async (t) => {
  fc.assert(fc.property(vector, vector, (a, b) => equals(subtract(add(a, b), b), a)));
  t.pass();
});

t.test('fits agrees with subtraction staying non-negative', async (t) => {
  fc.assert(
    fc.property(vector, vector, (need, have) => {
      const left = trySubtract(have, need);
      return fits(need, have) === (left !== undefined) && (left === undefined || dimensionsOf(left).every((v) => v >= 0));
    }),
  );
  t.pass();
});

t.test('subtract never goes negative silently', async (t) => {
  fc.assert(
    fc.property(vector, vector, (a, b) => {
      try {
        const left = subtract(a, b);
        return dimensionsOf(left).every((v) => v >= 0);
      } catch (err) {
        return err instanceof RangeError && (err as RangeError & { code: string }).code === 'MUSTER_ERR_RESOURCE_UNDERFLOW' && !fits(b, a);
      }
    }),
  );
  t.throws(() => subtract(resources({ cpu: 1000 }), resources({ gpu: 1 })), { code: 'MUSTER_ERR_RESOURCE_UNDERFLOW', message: /^gpu:/ });
});

t.test('add is commutative and has ZERO as identity', async (t) => {
  fc.assert(fc.property(vector, vector, (a, b) => equals(add(a, b), add(b, a)) && equals(add(a, ZERO), a)));
  t.pass();
});

t.test('add refuses inexact sums', async (t) => {
  const huge = resources({ cpu: Number.MAX_SAFE_INTEGER });
  t.throws(() => add(huge, resources({ cpu: 1 })), { code: 'MUSTER_ERR_RESOURCE_OVERFLOW' });
  t.throws(() => scale(huge, 2), { code: 'MUSTER_ERR_RESOURCE_OVERFLOW' });
});

t.test('scale is repeated addition', async (t) => {
  fc.assert(
    fc.property(vector, fc.integer({ min: 0, max: 5 }), (a, n) => {
      let sum: Resources = ZERO;
      for (let i = 0; i < n; i++) sum = add(sum, a);
      return equals(scale(a, n), sum);
    }),
  );
  t.pass();
});

t.test('shortfall names the first dimension that does not fit', async (t) => {
  const have = resources({ cpu: 1000, memory: 1024, gpu: 1, extended: { fpga: 1 } });
  t.equal(shortfall(resources({ cpu: 2000 }), have), 'cpu');
  t.equal(shortfall(resources({ memory: 2048 }), have), 'memory');
  t.equal(shortfall(resources({ gpu: 2 }), have), 'gpu');
  t.equal(shortfall(resources({ extended: { fpga: 2 } }), have), 'fpga');
  t.equal(shortfall(resources({ extended: { licence: 1 } }), have), 'licence');
  t.equal(shortfall(resources({ cpu: 1000, memory: 1024 }), have), undefined);
});

t.test('dominant share', async (t) => {
  const total = resources({ cpu: 10_000, memory: 10_240, gpu: 4 });
  t.equal(dominantShare(resources({ cpu: 5000, memory: 1024 }), total), 0.5);
  t.equal(dominantShare(resources({ cpu: 1000, gpu: 3 }), total), 0.75);
  t.equal(dominantShare(ZERO, total), 0);
  t.equal(dominantShare(resources({ extended: { fpga: 1 } }), total), Infinity);
  fc.assert(
    fc.property(vector, vector, (a, b) => {
      const all = add(add(a, b), resources({ cpu: 1, memory: 1, gpu: 1 }));
      const share = dominantShare(a, all);
      return share >= 0 && share <= 1;
    }),
  );
});

t.test('limits cap only the dimensions they name', async (t) => {
  const limit = { gpu: 4, extended: { fpga: 1 } };
  t.ok(withinLimit(resources({ cpu: 1_000_000, gpu: 4 }), limit));
  t.notOk(withinLimit(resources({ gpu: 5 }), limit));
  t.notOk(withinLimit(resources({ extended: { fpga: 2 } }), limit));
});

t.test('format and isZero', async (t) => {
  t.equal(formatResources(resources({ cpu: 1500, memory: 4096, gpu: 1, extended: { fpga: 2 } })), 'cpu=1500m memory=4Gi gpu=1 fpga=2');
  t.equal(formatResources(ZERO), 'cpu=0 memory=0Mi');
  t.ok(isZero(resources({ extended: { fpga: 0 } })));
  t.notOk(isZero(resources({ gpu: 1 })));
});

function dimensionsOf(r: Resources): number[] {
  return [r.cpu, r.memory, r.gpu, ...Object.values(r.extended)];
}
