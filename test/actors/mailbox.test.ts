import t from 'tap';
import { DROPPED_OLDEST, Mailbox, PUSHED, REJECTED, RingBuffer } from '../../src/actors/index.js';

t.test('ring buffer: FIFO across growth and wrap-around', async (t) => {
  const ring = new RingBuffer<number>(4);
  const out: number[] = [];
  let pushed = 0;
  // interleave pushes and shifts so the head wraps several times while the buffer grows
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < round % 7; i++) ring.push(pushed++);
    for (let i = 0; i < round % 5 && ring.size > 0; i++) out.push(ring.shift() as number);
  }
  out.push(...ring.drain());
  t.equal(ring.size, 0);
  t.equal(ring.shift(), undefined);
  t.same(out, Array.from({ length: pushed }, (_, i) => i));
});

t.test('mailbox: system lane is separate and unbounded', async (t) => {
  const box = new Mailbox<string, string>({ capacity: 1, overflow: 'reject' });
  t.equal(box.pushUser('u1'), PUSHED);
  box.pushSystem('s1');
  box.pushSystem('s2');
  t.equal(box.systemDepth, 2);
  t.equal(box.userDepth, 1);
  t.equal(box.shiftSystem(), 's1');
});

const overflowCases = [
  { policy: 'reject' as const, results: [PUSHED, PUSHED, PUSHED, REJECTED, REJECTED], kept: ['m0', 'm1', 'm2'], dropped: undefined },
  { policy: 'drop-oldest' as const, results: [PUSHED, PUSHED, PUSHED, DROPPED_OLDEST, DROPPED_OLDEST], kept: ['m2', 'm3', 'm4'], dropped: 'm1' },
];

for (const c of overflowCases) {
  t.test(`mailbox overflow: ${c.policy}`, async (t) => {
    const box = new Mailbox<string, never>({ capacity: 3, overflow: c.policy });
    t.same(
      ['m0', 'm1', 'm2', 'm3', 'm4'].map((m) => box.pushUser(m)),
      c.results,
    );
    t.equal(box.dropped, c.dropped, 'the last message dropped is handed back');
    t.same(box.drainUser(), c.kept);
  });
}

t.test('mailbox: capacity must be a positive integer', async (t) => {
  t.throws(() => new Mailbox({ capacity: 0, overflow: 'reject' }), { code: 'MUSTER_ERR_INVALID_VALUE' });
});
