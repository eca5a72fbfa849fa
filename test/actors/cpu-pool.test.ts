import t from 'tap';
import { closeCpuPool, cpuPool, createCpuPool, decodeSnapshot, encodeSnapshot, runPooled, siblingModule } from '../../src/actors/index.js';
import { quietLog } from './helpers.js';

t.teardown(closeCpuPool);

t.test('snapshots are encoded and decoded on the shared pool, and checked', async (t) => {
  const state = { queues: [{ name: 'org/team', pending: Array.from({ length: 1000 }, (_, i) => ({ id: `j${i}`, cpu: i % 7 })) }], text: 'ünïcödé ✓' };
  const bytes = await encodeSnapshot(state);
  t.type(bytes, Uint8Array);
  t.ok(bytes.length > 1000);
  t.same(await decodeSnapshot(bytes), state, 'round trip');
  const corrupt = bytes.slice();
  corrupt[10] = (corrupt[10] as number) ^ 0xff;
  await t.rejects(decodeSnapshot(corrupt), { code: 'MUSTER_ERR_INVALID_SPEC' }, 'a flipped byte is detected');
  t.equal(await cpuPool(), await cpuPool(), 'one pool per process');
  t.equal(await runPooled({ kind: 'ping' }), 'pong');
});

t.test('bounded queue: beyond maxQueue, tasks are refused with MUSTER_ERR_POOL_BUSY', async (t) => {
  const pool = await createCpuPool({ threads: 1, maxQueue: 2, log: quietLog });
  t.teardown(() => pool.close());
  const big = { rows: Array.from({ length: 20_000 }, (_, i) => ({ i, s: 'x'.repeat(20) })) };
  // Submitted in one synchronous burst: one runs, two wait, the rest are refused.
  const results = await Promise.allSettled(Array.from({ length: 8 }, () => pool.run({ kind: 'encode-snapshot', value: big })));
  const refused = results.filter((r) => r.status === 'rejected');
  t.ok(refused.length >= 5, `${refused.length} of 8 refused`);
  t.ok(refused.every((r) => r.status === 'rejected' && (r.reason as { code?: string }).code === 'MUSTER_ERR_POOL_BUSY'));
  t.ok(results.filter((r) => r.status === 'fulfilled').length >= 1, 'the accepted ones complete');
});

t.test('a pool whose workers cannot start is fatal: creation rejects with MUSTER_ERR_POOL_FAILED', async (t) => {
  await t.rejects(createCpuPool({ threads: 1, taskModule: siblingModule(import.meta.url, './fixtures/broken-task'), log: quietLog }), { code: 'MUSTER_ERR_POOL_FAILED' });
});
