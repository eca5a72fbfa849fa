/**
 * The wire codec of cross-thread batches (an internal module, tested directly): whatever goes in comes
 * out equal, in order, after a real structured clone.
 */
import t from 'tap';
import { BatchEncoder, MAX_SHAPE_KEYS, decodeBatch } from '../../src/actors/batch-codec.js';

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

function roundTrip(encoder: BatchEncoder, messages: readonly unknown[]): { id: number; message: unknown }[] {
  messages.forEach((m, i) => encoder.add(i + 1, m));
  const wire = structuredClone(encoder.take());
  const out: { id: number; message: unknown }[] = [];
  decodeBatch(wire, (id, message) => out.push({ id, message }));
  return out;
}

const wide = Object.fromEntries(Array.from({ length: MAX_SHAPE_KEYS + 1 }, (_, i) => [`k${i}`, i]));

const cases: { name: string; messages: unknown[] }[] = [
  { name: 'one kind, many messages', messages: Array.from({ length: 100 }, (_, i) => ({ kind: 'data', seq: i })) },
  { name: 'optional fields make a kind flip shapes', messages: [{ kind: 'a', x: 1 }, { kind: 'a', x: 1, y: 2 }, { kind: 'a', x: 3 }, { kind: 'a', y: 4, x: 5 }] },
  { name: 'nested data and refs', messages: [{ kind: 'place', jobs: [{ id: 'j1', cpu: 2 }], replyTo: { host: 1, id: -4 }, at: new Date(0), tags: new Map([['a', 1]]) }] },
  { name: 'undefined and null values', messages: [{ kind: 'u', a: undefined, b: null }, { kind: 'u', a: 1, b: 2 }] },
  { name: 'non-string kind and no kind', messages: [{ kind: 7, v: 1 }, { v: 2 }, { kind: null }] },
  { name: 'raw: primitives, arrays, class instances, wide objects', messages: [42, 'text', null, [1, 2], new Point(1, 2), wide] },
  { name: 'a __proto__ key travels raw and stays an own key', messages: [JSON.parse('{"kind":"evil","__proto__":{"polluted":true}}') as unknown] },
  { name: 'kind values that need quoting', messages: [{ kind: 'a"b\\c', v: 1 }, { 'kind': 'x', 'odd key': 2, '0': 3 }] },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const out = roundTrip(new BatchEncoder(), c.messages);
    t.same(
      out.map((o) => o.id),
      c.messages.map((_, i) => i + 1),
      'ids in order',
    );
    t.strictSame(
      out.map((o) => o.message),
      c.messages.map((m) => structuredClone(m)),
      'messages equal to what structured clone alone would give',
    );
  });
}

t.test('the encoder carries its shapes across batches, each batch is self-contained', async (t) => {
  const encoder = new BatchEncoder();
  t.strictSame(roundTrip(encoder, [{ kind: 'a', n: 1 }]).map((o) => o.message), [{ kind: 'a', n: 1 }]);
  t.equal(encoder.size, 0, 'take() starts a new batch');
  t.strictSame(roundTrip(encoder, [{ kind: 'b', m: 2 }, { kind: 'a', n: 3 }]).map((o) => o.message), [{ kind: 'b', m: 2 }, { kind: 'a', n: 3 }]);
});

t.test('no prototype pollution from decoded messages', async (t) => {
  roundTrip(new BatchEncoder(), [JSON.parse('{"__proto__":{"polluted":true}}') as unknown]);
  t.equal(({} as { polluted?: boolean }).polluted, undefined);
});
