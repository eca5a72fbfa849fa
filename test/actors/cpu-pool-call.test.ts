/**
 * The CPU pool's `call` task (`runExport`): a function named by module and export runs in a pool thread, its
 * bytes come back moved, its errors keep their code, and an abort stops it without breaking the pool.
 */
import t from 'tap';
import { createCpuPool, runExport, siblingModule } from '../../src/actors/index.js';
import type * as functions from './fixtures/pool-functions.js';
import { quietLog } from './helpers.js';

const FUNCTIONS = siblingModule(import.meta.url, './fixtures/pool-functions');

/** Resolves once cell 0 no longer holds `value` (`Atomics.waitAsync`: in Node 20, not in this lib's types). */
async function changed(cell: Int32Array, value: number): Promise<void> {
  const { waitAsync } = Atomics as unknown as { waitAsync(array: Int32Array, index: number, value: number): { async: boolean; value: Promise<string> | string } };
  const waiting = waitAsync(cell, 0, value);
  if (waiting.async) await waiting.value;
}

t.test('a function of a module runs in a pool thread: bytes back whole, errors with their code', async (t) => {
  const pool = await createCpuPool({ threads: 1, log: quietLog });
  t.teardown(() => pool.close());
  const bytes = await runExport<typeof functions.bytes>(FUNCTIONS, 'bytes', { size: 1 << 20 }, { pool });
  t.equal(bytes.length, 1 << 20);
  t.equal(bytes.buffer.byteLength, 1 << 20, 'the buffer it was made in, moved: nothing around it');
  t.ok(bytes.every((b) => b === 7));
  await t.rejects(runExport<typeof functions.coded>(FUNCTIONS, 'coded', undefined as never, { pool }), { code: 'MUSTER_ERR_INVALID_VALUE', message: /coded failure/ });
  await t.rejects(runExport<(args: object) => unknown>(FUNCTIONS, 'missing', {}, { pool }), { code: 'MUSTER_ERR_INTERNAL', message: /exports no function missing/ });
});

t.test('an abort stops a running call: it rejects with the reason, and the pool goes on', async (t) => {
  const pool = await createCpuPool({ threads: 1, log: quietLog });
  t.teardown(() => pool.close());
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const stopping = new AbortController();
  const running = runExport<typeof functions.spin>(FUNCTIONS, 'spin', { cell }, { pool, signal: stopping.signal });
  await changed(cell, 0);
  t.equal(Atomics.load(cell, 0), 1, 'the function runs (and would spin for ever)');
  const reason = new Error('the server is stopping');
  stopping.abort(reason);
  await t.rejects(running, reason, 'rejected with the reason');
  t.equal(await pool.run({ kind: 'ping' }), 'pong', 'the pool answers after the abort');
  const released = new Int32Array(new SharedArrayBuffer(4));
  const second = runExport<typeof functions.spin>(FUNCTIONS, 'spin', { cell: released }, { pool });
  await changed(released, 0);
  Atomics.store(released, 0, 2);
  t.equal(await second, 'released', 'a call without an abort runs to its end');
});
