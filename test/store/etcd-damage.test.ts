/**
 * What a stopped writer or damage leaves in etcd, against a real three-member etcd: snapshot chunks written
 * without their manifest leave the old snapshot in force (and the next snapshot clears them); a manifest
 * whose chunks do not match it, a gap in the log or a damaged batch is MUSTER_ERR_STORE_CORRUPT; a group left
 * half written is never read and is removed by the next writer; big snapshots and big batches read back
 * whole through pages.
 */
import { crc32 } from 'node:zlib';
import t from 'tap';
import type { Test } from 'tap';
import type { Etcd3 } from 'etcd3';
import { openEtcdStore, type EtcdFence } from '../../src/store/index.js';
import { encodeBatch } from '../../src/store/etcd-batch.js';
import { encodePayload } from '../../src/store/record-codec.js';
import { jobSubmitted } from './fixtures/events.js';
import { keyNames, openRecoveredEtcd, silent, startEtcd } from './etcd-helpers.js';

const pad = (n: number, digits: number): string => String(n).padStart(digits, '0');

async function reopen(client: Etcd3, prefix: string, fence: EtcdFence, maxBatchBytes = 4096): Promise<Awaited<ReturnType<Awaited<ReturnType<typeof openEtcdStore>>['recover']>>> {
  const store = await openEtcdStore({ client, prefix, fence, logger: silent, maxBatchBytes });
  try {
    return await store.recover();
  } finally {
    await store.close();
  }
}

t.test('against a three-member etcd', async (t) => {
  const etcd = await startEtcd(t);
  const { client } = etcd;

  /** A store with events 1..40 (appended four at a time) and the snapshot 'ten' at seq 10. */
  const seeded = async (t: Test, maxBatchBytes = 4096) => {
    const prefix = etcd.prefix();
    const s = await openRecoveredEtcd(client, prefix, { maxBatchBytes });
    t.teardown(() => s.store.close());
    for (let i = 1; i <= 40; i += 4) await s.store.append(s.epoch, [i, i + 1, i + 2, i + 3].map(jobSubmitted));
    await s.store.writeSnapshot(10, Buffer.from('ten'));
    return { prefix, ...s };
  };

  t.test('chunks written without a manifest leave the old snapshot in force; the next write clears them', async (t) => {
    const { prefix, store, fence } = await seeded(t);
    // A writer stopped after two chunks of a snapshot at seq 30 (and a third from an even older attempt).
    for (const i of [0, 1, 2]) await client.put(`${prefix}/snapshot/${pad(30, 20)}/${pad(i, 8)}`).value(Buffer.alloc(4096, i));
    const r = await reopen(client, prefix, fence);
    t.same([r.snapshot?.seq, Buffer.from(r.snapshot?.state ?? []).toString(), r.events[0]?.seq, r.lastSeq], [10, 'ten', 11, 40]);
    await store.writeSnapshot(30, Buffer.alloc(5000, 9)); // two chunks this time
    t.same(await keyNames(client, prefix, 'snapshot/'), [`${prefix}/snapshot/${pad(30, 20)}/${pad(0, 8)}`, `${prefix}/snapshot/${pad(30, 20)}/${pad(1, 8)}`, `${prefix}/snapshot/manifest`], "the leftover third chunk and the old snapshot's are gone");
    const again = await reopen(client, prefix, fence);
    t.same([again.snapshot?.seq, again.snapshot?.state.length, again.events[0]?.seq], [30, 5000, 31]);
    t.ok(Buffer.from(again.snapshot?.state ?? []).equals(Buffer.alloc(5000, 9)));
  });

  const damages = [
    { name: 'a chunk changed', damage: (c: Etcd3, p: string) => c.put(`${p}/snapshot/${pad(30, 20)}/${pad(1, 8)}`).value(Buffer.alloc(904, 1)), message: /checksum mismatch/ },
    { name: 'a chunk missing', damage: (c: Etcd3, p: string) => c.delete().key(`${p}/snapshot/${pad(30, 20)}/${pad(1, 8)}`), message: /1 of 2 chunks found/ },
    { name: 'a chunk longer', damage: (c: Etcd3, p: string) => c.put(`${p}/snapshot/${pad(30, 20)}/${pad(1, 8)}`).value(Buffer.alloc(2000, 1)), message: /more than the 5000 bytes/ },
    { name: 'the manifest not msgpack', damage: (c: Etcd3, p: string) => c.put(`${p}/snapshot/manifest`).value('{"seq":30}'), message: /manifest .* is damaged/ },
  ];
  for (const d of damages) {
    t.test(`a manifest whose chunks do not match (${d.name}) is MUSTER_ERR_STORE_CORRUPT, never an older state`, async (t) => {
      const { prefix, store, fence } = await seeded(t);
      await store.writeSnapshot(30, Buffer.alloc(5000, 9));
      await store.close();
      await d.damage(client, prefix);
      await t.rejects(reopen(client, prefix, fence), { code: 'MUSTER_ERR_STORE_CORRUPT', message: d.message });
    });
  }

  t.test('a gap in the log and a damaged batch are MUSTER_ERR_STORE_CORRUPT', async (t) => {
    const { prefix, store, fence } = await seeded(t);
    await store.close();
    const logKeys = await keyNames(client, prefix, 'log/');
    await client.put(logKeys[8] as string).value('not msgpack of a batch');
    await t.rejects(reopen(client, prefix, fence), { code: 'MUSTER_ERR_STORE_CORRUPT', message: /log key .* is damaged/ });
    await client.delete().key(logKeys[8] as string);
    await t.rejects(reopen(client, prefix, fence), { code: 'MUSTER_ERR_STORE_CORRUPT', message: /gap: seq 33 is missing/ });
  });

  t.test('a group left half written is never read, and the next writer removes it and writes those seqs again', async (t) => {
    const { prefix, store, fence, epoch } = await seeded(t);
    // The first two keys of a three-key group: the writer stopped before the last one (end: true).
    const payloads = (from: number, to: number): Uint8Array[] => Array.from({ length: to - from + 1 }, (_, i) => Buffer.from(encodePayload(jobSubmitted(-(from + i)))));
    await client.put(`${prefix}/log/${pad(41, 20)}`).value(encodeBatch(41, epoch, false, payloads(41, 45)));
    await client.put(`${prefix}/log/${pad(46, 20)}`).value(encodeBatch(46, epoch, false, payloads(46, 50)));
    await store.close();
    const next = await openEtcdStore({ client, prefix, fence, logger: silent });
    const r = await next.recover();
    t.same([r.lastSeq, r.events.at(-1)?.seq], [40, 40], 'the half group is not part of the log');
    t.notOk((await keyNames(client, prefix, 'log/')).includes(`${prefix}/log/${pad(41, 20)}`), 'its keys are gone');
    t.same(await next.append(r.epoch, [jobSubmitted(41)]), { firstSeq: 41, lastSeq: 41 });
    await next.close();
    const again = await reopen(client, prefix, fence);
    t.same(again.events.slice(-2).map((e) => (e.event as { counter: number }).counter), [40, 41]);
  });

  t.test('a snapshot of many chunks and a log of full 1 MiB batches read back whole, page by page', async (t) => {
    const prefix = etcd.prefix();
    const s = await openRecoveredEtcd(client, prefix); // default: 1 MiB per transaction
    t.teardown(() => s.store.close());
    // 12 MiB of events (each ~110 KiB, incompressible enough): a dozen full batches, more than one 4 MiB gRPC message.
    // Small batches, then full ones: a page sized by the small ones would pass gRPC's 4 MiB limit on the full.
    const blob = (i: number): string => (i <= 40 ? 'small' : Buffer.alloc(110_000, String.fromCharCode(97 + (i % 26))).toString());
    for (let i = 1; i <= 40; i++) await s.store.append(s.epoch, [{ i, blob: blob(i) }]);
    for (let i = 41; i <= 150; i += 10) await s.store.append(s.epoch, Array.from({ length: 10 }, (_, k) => ({ i: i + k, blob: blob(i + k) })));
    const state = Buffer.alloc(9 * 1024 * 1024 + 17);
    for (let i = 0; i < state.length; i += 4096) state[i] = i % 251;
    await s.store.writeSnapshot(20, state);
    t.equal((await keyNames(client, prefix, 'snapshot/')).length, 11, '10 chunks and the manifest');
    const r = await reopen(client, prefix, s.fence, 1024 * 1024);
    t.ok(Buffer.from(r.snapshot?.state ?? []).equals(state), 'the state, byte for byte');
    t.equal(crc32(r.snapshot?.state ?? new Uint8Array()), crc32(state));
    t.same(r.events.map((e) => (e.event as { i: number }).i), Array.from({ length: 130 }, (_, k) => 21 + k));
    t.ok(r.events.every((e) => (e.event as { blob: string }).blob === blob(e.seq)), 'every event whole');
  });
});
