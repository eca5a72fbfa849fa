import t from 'tap';
import { formatSelector, matchesAll, matchesSelector, parseSelector } from '../../src/model/index.js';
import type { Selector } from '../../src/model/index.js';

t.test('written selectors parse to their object form', async (t) => {
  const cases: [string, Selector | 'error'][] = [
    ['zone=a', { key: 'zone', op: '=', values: ['a'] }],
    ['zone==a', { key: 'zone', op: '=', values: ['a'] }],
    ['zone = a', { key: 'zone', op: '=', values: ['a'] }],
    ['zone!=a', { key: 'zone', op: '!=', values: ['a'] }],
    ['disk in (ssd,nvme)', { key: 'disk', op: 'in', values: ['ssd', 'nvme'] }],
    ['disk in ( ssd , nvme )', { key: 'disk', op: 'in', values: ['ssd', 'nvme'] }],
    ['disk notin (hdd)', { key: 'disk', op: 'notin', values: ['hdd'] }],
    ['gpu', { key: 'gpu', op: 'exists', values: [] }],
    ['example.com/rack=r1', { key: 'example.com/rack', op: '=', values: ['r1'] }],
    ['maintenance=', { key: 'maintenance', op: '=', values: [''] }],
    ['disk in ()', 'error'],
    ['disk in (a b)', 'error'],
    ['=a', 'error'],
    ['zone=a=b', 'error'],
    ['zone<a', 'error'],
    ['-bad=a', 'error'],
    ['Bad_Prefix/x=a', 'error'],
    ['', 'error'],
  ];
  for (const [text, want] of cases) {
    const got = parseSelector(text);
    t.same(got.ok ? got.value : 'error', want, JSON.stringify(text));
  }
});

t.test('formatting is the inverse of parsing', async (t) => {
  for (const text of ['zone=a', 'zone!=a', 'disk in (ssd,nvme)', 'disk notin (hdd)', 'gpu']) {
    const parsed = parseSelector(text);
    t.ok(parsed.ok);
    if (parsed.ok) t.equal(formatSelector(parsed.value), text);
  }
});

t.test('matching follows Kubernetes semantics', async (t) => {
  const node = { zone: 'a', disk: 'ssd' };
  const bare = {};
  const cases: [string, Record<string, string>, boolean][] = [
    ['zone=a', node, true],
    ['zone=b', node, false],
    ['zone=a', bare, false],
    ['zone!=b', node, true],
    ['zone!=a', node, false],
    ['zone!=a', bare, true],
    ['disk in (ssd,nvme)', node, true],
    ['disk in (hdd)', node, false],
    ['disk in (ssd)', bare, false],
    ['disk notin (hdd)', node, true],
    ['disk notin (ssd)', node, false],
    ['disk notin (ssd)', bare, true],
    ['zone', node, true],
    ['zone', bare, false],
    ['toString', bare, false],
  ];
  for (const [text, labels, want] of cases) {
    const s = parseSelector(text);
    t.ok(s.ok, text);
    if (s.ok) t.equal(matchesSelector(s.value, labels), want, `${text} on ${JSON.stringify(labels)}`);
  }
  const all = ['zone=a', 'disk'].map((x) => parseSelector(x)).flatMap((p) => (p.ok ? [p.value] : []));
  t.ok(matchesAll(all, node));
  t.notOk(matchesAll(all, { zone: 'a' }));
  t.ok(matchesAll([], bare));
});
