// The fence (src/agent/fence.ts): the lease is last contact + fenceMs; contacts renew it, older ones do not
// move it back; it expires once per lapse; no fenceMs is no fence; a lease left by a previous run holds
// until the server says otherwise.
import t from 'tap';
import { Fence, monotonicNs } from '../../src/agent/fence.js';
import type { Lease } from '../../src/agent/shim/index.js';

const MS = 1_000_000n;

// The fence's timer is unref'd (the agent's socket keeps the process alive); here nothing else would.
const keepAlive = setInterval(() => undefined, 1_000);
t.teardown(() => clearInterval(keepAlive));

t.test('contacts renew the lease; an older contact does not move it back; it expires once per lapse', async (t) => {
  const leases: (Lease | undefined)[] = [];
  let expired = 0;
  let onExpired: () => void = () => undefined;
  const fence = new Fence({ expired: () => (expired++, onExpired()), lease: (l) => leases.push(l) });
  t.teardown(() => fence.stop());
  const start = monotonicNs();
  fence.contact(start);
  t.same(leases, [], 'no fenceMs yet: no lease');
  fence.setFenceMs(100);
  t.same(leases, [{ deadlineNs: start + 100n * MS, fenceMs: 100 }], 'the lease counts from the last contact');
  fence.contact(start - 50n * MS);
  t.equal(leases.length, 1, 'an older contact changes nothing');
  const lapse = new Promise<void>((resolve) => (onExpired = resolve));
  await lapse;
  t.equal(expired, 1);
  t.ok(fence.lapsed);
  t.ok(monotonicNs() >= start + 100n * MS, 'not before the deadline');
  const again = new Promise<void>((resolve) => (onExpired = resolve));
  fence.contact(monotonicNs());
  t.notOk(fence.lapsed, 'a new contact renews it');
  await again;
  t.equal(expired, 2, 'and it can lapse again');
});

t.test('no fenceMs (an older server): no fence', async (t) => {
  const leases: (Lease | undefined)[] = [];
  const fence = new Fence({ expired: () => t.fail('no fence can expire'), lease: (l) => leases.push(l), initial: { deadlineNs: monotonicNs() + 10_000n * MS, fenceMs: 300 } });
  t.teardown(() => fence.stop());
  t.equal(fence.fenceMs, 300, 'the lease a previous run left holds');
  fence.setFenceMs(undefined);
  t.same(leases, [undefined], 'until the server says there is none');
  t.equal(fence.lease, undefined);
});

t.test('a lease left by a previous run that has already run out expires at once', async (t) => {
  const info = await new Promise<{ fenceMs: number }>((resolve) => {
    const f = new Fence({ expired: resolve, initial: { deadlineNs: monotonicNs() - 1n, fenceMs: 300 } });
    t.teardown(() => f.stop());
  });
  t.equal(info.fenceMs, 300);
});
