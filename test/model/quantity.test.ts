import t from 'tap';
import fc from 'fast-check';
import {
  formatCpu,
  formatDuration,
  formatMemory,
  limits,
  parseCount,
  parseCpu,
  parseDuration,
  parseMemory,
} from '../../src/model/index.js';
import type { Parsed } from '../../src/model/index.js';

function value<T>(p: Parsed<T>): T | 'error' {
  return p.ok ? p.value : 'error';
}

t.test('cpu quantities', async (t) => {
  const cases: [unknown, number | 'error'][] = [
    ['500m', 500],
    ['2', 2000],
    ['1.5', 1500],
    ['0.25', 250],
    ['0.001', 1],
    ['0', 0],
    ['  750m ', 750],
    [2, 2000],
    [0.5, 500],
    [0.1, 100],
    ['0.0005', 'error'],
    [0.0005, 'error'],
    ['1.5m', 'error'],
    ['-1', 'error'],
    [-1, 'error'],
    [Number.NaN, 'error'],
    [Number.POSITIVE_INFINITY, 'error'],
    ['2 cores', 'error'],
    ['', 'error'],
    ['1e3', 'error'],
    [null, 'error'],
    [true, 'error'],
    [`${limits.MAX_QUANTITY}m`, limits.MAX_QUANTITY],
    [`${limits.MAX_QUANTITY + 1}m`, 'error'],
  ];
  for (const [input, want] of cases) t.equal(value(parseCpu(input)), want, `cpu ${JSON.stringify(input)}`);
  const bad = parseCpu('12Q');
  t.match(bad, { ok: false, message: /"12Q" is not a cpu quantity/ });
});

t.test('memory quantities', async (t) => {
  const cases: [unknown, 'up' | 'down', number | 'error'][] = [
    ['512Mi', 'up', 512],
    ['4Gi', 'up', 4096],
    ['1Ti', 'up', 1024 * 1024],
    ['2048Ki', 'up', 2],
    ['1G', 'up', 954],
    ['1G', 'down', 953],
    ['100M', 'up', 96],
    ['1.5Gi', 'up', 1536],
    ['1.1Gi', 'up', 1127],
    ['1.1Gi', 'down', 1126],
    ['1k', 'up', 1],
    ['1k', 'down', 0],
    ['512', 'up', 512],
    [512, 'up', 512],
    [0.5, 'up', 1],
    ['0', 'up', 0],
    ['12Qi', 'up', 'error'],
    ['-1Gi', 'up', 'error'],
    ['Gi', 'up', 'error'],
    ['1 Gi', 'up', 'error'],
    [1e21, 'up', 'error'],
    [Number.NaN, 'up', 'error'],
    [[], 'up', 'error'],
    [`${limits.MAX_QUANTITY}Mi`, 'up', limits.MAX_QUANTITY],
    [`${limits.MAX_QUANTITY + 1}Mi`, 'up', 'error'],
  ];
  for (const [input, rounding, want] of cases) {
    t.equal(value(parseMemory(input, rounding)), want, `memory ${JSON.stringify(input)} rounded ${rounding}`);
  }
  t.match(parseMemory('12Qi'), { ok: false, message: /"12Qi" is not a memory quantity/ });
});

t.test('counts', async (t) => {
  const cases: [unknown, number | 'error'][] = [
    [0, 0],
    [8, 8],
    ['4', 4],
    [1.5, 'error'],
    [-1, 'error'],
    ['two', 'error'],
    [limits.MAX_QUANTITY, limits.MAX_QUANTITY],
    [limits.MAX_QUANTITY + 1, 'error'],
  ];
  for (const [input, want] of cases) t.equal(value(parseCount(input)), want, `count ${JSON.stringify(input)}`);
});

t.test('durations', async (t) => {
  const cases: [unknown, number | 'error'][] = [
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['2d', 172_800_000],
    ['1.5h', 5_400_000],
    ['90', 90_000],
    [90, 90_000],
    [0, 0],
    ['365d', limits.MAX_DURATION_MS],
    ['365d1ms', 'error'],
    ['1w', 'error'],
    ['h', 'error'],
    ['', 'error'],
    ['1h 30m', 'error'],
    [-5, 'error'],
    [{}, 'error'],
  ];
  for (const [input, want] of cases) t.equal(value(parseDuration(input)), want, `duration ${JSON.stringify(input)}`);
});

t.test('formatting', async (t) => {
  t.equal(formatCpu(500), '500m');
  t.equal(formatCpu(2000), '2');
  t.equal(formatCpu(1500), '1500m');
  t.equal(formatMemory(512), '512Mi');
  t.equal(formatMemory(4096), '4Gi');
  t.equal(formatMemory(1024 * 1024), '1Ti');
  t.equal(formatMemory(0), '0Mi');
  t.equal(formatDuration(5_400_000), '1h30m');
  t.equal(formatDuration(500), '500ms');
  t.equal(formatDuration(0), '0s');
});

t.test('formatting round-trips through parsing', async (t) => {
  const amount = fc.integer({ min: 0, max: limits.MAX_QUANTITY });
  fc.assert(fc.property(amount, (m) => value(parseCpu(formatCpu(m))) === m));
  fc.assert(fc.property(amount, (m) => value(parseMemory(formatMemory(m))) === m));
  fc.assert(fc.property(fc.integer({ min: 0, max: limits.MAX_DURATION_MS }), (ms) => value(parseDuration(formatDuration(ms))) === ms));
  t.pass('round trips hold');
});
