/**
 * The EventStore contract as one suite that every store runs (contract-embedded.test.ts,
 * contract-etcd.test.ts): what the scheduler may rely on whichever store holds its log. A store under test
 * comes from `open()`: fresh and empty, not yet recovered, with `reopen()` (close it, open the same log
 * again, not recovered) and `writes()` (how many writes reached the medium: segment writes, log keys).
 */
import type { Test } from 'tap';
import type { EventStore, Recovered } from '../../src/store/index.js';
import { isJobSubmitted, jobSubmitted } from './fixtures/events.js';

export interface StoreUnderTest {
  readonly store: EventStore;
  /** Closes the store opened last (if it is not yet) and opens the same log again; not recovered. */
  reopen(): Promise<EventStore>;
  /** Writes that reached the medium so far (segment writes; log keys). */
  writes(): Promise<number>;
  /** An append bigger than one write of the store (in `jobSubmitted` events), and the writes it takes at least. */
  readonly bigAppend: { readonly events: number; readonly minWrites: number };
}

export type OpenStore = () => Promise<StoreUnderTest>;

async function recovered(t: Test, sut: StoreUnderTest): Promise<{ store: EventStore; r: Recovered }> {
  const store = await sut.reopen();
  t.teardown(() => store.close());
  return { store, r: await store.recover() };
}

function counters(r: Recovered): number[] {
  return r.events.map((e) => (e.event as { counter: number }).counter);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

export function storeContract(t: Test, name: string, open: OpenStore): void {
  const opened = async (t: Test): Promise<StoreUnderTest & { epoch: number }> => {
    const sut = await open();
    t.teardown(() => sut.store.close());
    return { ...sut, epoch: (await sut.store.recover()).epoch };
  };

  t.test(`${name}: appends resolve with consecutive seqs, and recover returns every event in order`, async (t) => {
    const sut = await opened(t);
    t.same(await sut.store.append(sut.epoch, [jobSubmitted(1)]), { firstSeq: 1, lastSeq: 1 });
    t.same(await sut.store.append(sut.epoch, [jobSubmitted(2), jobSubmitted(3), jobSubmitted(4)]), { firstSeq: 2, lastSeq: 4 });
    t.same(await sut.store.append(sut.epoch, [jobSubmitted(5)]), { firstSeq: 5, lastSeq: 5 });
    const { r } = await recovered(t, sut);
    t.same(r.events.map((e) => e.seq), range(1, 5));
    t.ok(r.events.every((e) => isJobSubmitted(e.event, e.seq)), 'each event as appended');
    t.same([r.snapshot, r.lastSeq], [undefined, 5]);
  });

  t.test(`${name}: concurrent appends share writes yet keep their order`, async (t) => {
    const sut = await opened(t);
    const before = await sut.writes();
    const order: number[] = [];
    const results = await Promise.all(range(1, 300).map((i) => sut.store.append(sut.epoch, [jobSubmitted(i)]).then((res) => (order.push(i), res))));
    t.same(results.map((res) => res.firstSeq), range(1, 300), 'seqs in call order');
    t.same(order, range(1, 300), 'resolved in call order');
    const writes = (await sut.writes()) - before;
    t.ok(writes >= 1 && writes < 100, `300 appends took ${writes} writes`);
    const { r } = await recovered(t, sut);
    t.same(counters(r), range(1, 300), 'every event back, in order, once');
  });

  t.test(`${name}: an empty append is a barrier and takes no seq`, async (t) => {
    const sut = await opened(t);
    const first = sut.store.append(sut.epoch, [jobSubmitted(1), jobSubmitted(2)]);
    t.same(await sut.store.append(sut.epoch, []), { firstSeq: 3, lastSeq: 2 });
    t.same(await first, { firstSeq: 1, lastSeq: 2 });
    t.same(await sut.store.append(sut.epoch, [jobSubmitted(3)]), { firstSeq: 3, lastSeq: 3 });
  });

  t.test(`${name}: recover returns the newest snapshot and exactly the events after it`, async (t) => {
    const sut = await opened(t);
    for (let i = 1; i <= 50; i += 5) await sut.store.append(sut.epoch, range(i, i + 4).map(jobSubmitted));
    await sut.store.writeSnapshot(20, Buffer.from('state@20'));
    await sut.store.writeSnapshot(30, Buffer.from('state@30'));
    await sut.store.append(sut.epoch, range(51, 60).map(jobSubmitted));
    const { store, r } = await recovered(t, sut);
    t.equal(r.snapshot?.seq, 30);
    t.equal(Buffer.from(r.snapshot?.state ?? []).toString(), 'state@30');
    t.same(r.events.map((e) => e.seq), range(31, 60));
    t.same(counters(r), range(31, 60));
    t.equal(r.lastSeq, 60);
    t.same(await store.append(r.epoch, [jobSubmitted(61)]), { firstSeq: 61, lastSeq: 61 }, 'appends go on after the last seq');
  });

  t.test(`${name}: writeSnapshot + compact, then recover: the snapshot and the events after it`, async (t) => {
    const sut = await opened(t);
    for (let i = 1; i <= 100; i += 10) await sut.store.append(sut.epoch, range(i, i + 9).map(jobSubmitted));
    const state = Buffer.alloc(10_000, 7); // several chunks where the store cuts snapshots small
    await sut.store.writeSnapshot(85, state);
    await sut.store.compact();
    await sut.store.append(sut.epoch, range(101, 110).map(jobSubmitted));
    const { store, r } = await recovered(t, sut);
    t.equal(r.snapshot?.seq, 85);
    t.ok(Buffer.from(r.snapshot?.state ?? []).equals(state), 'the state byte for byte');
    t.same(counters(r), range(86, 110), 'the events after the snapshot, including those in a batch it half covers');
    await store.writeSnapshot(110, Buffer.from('all'));
    await store.compact();
    const again = await recovered(t, sut);
    t.same([again.r.snapshot?.seq, again.r.events.length, again.r.lastSeq], [110, 0, 110], 'a snapshot of everything leaves no events');
    t.same(await again.store.append(again.r.epoch, [jobSubmitted(111)]), { firstSeq: 111, lastSeq: 111 });
  });

  t.test(`${name}: an append bigger than one write recovers whole`, async (t) => {
    const sut = await opened(t);
    await sut.store.append(sut.epoch, [jobSubmitted(1)]);
    const before = await sut.writes();
    const n = sut.bigAppend.events;
    t.same(await sut.store.append(sut.epoch, range(2, n + 1).map(jobSubmitted)), { firstSeq: 2, lastSeq: n + 1 });
    const writes = (await sut.writes()) - before;
    t.ok(writes >= sut.bigAppend.minWrites, `${n} events took ${writes} writes`);
    t.same(await sut.store.append(sut.epoch, [jobSubmitted(n + 2)]), { firstSeq: n + 2, lastSeq: n + 2 });
    const { r } = await recovered(t, sut);
    t.same(counters(r), range(1, n + 2));
  });

  t.test(`${name}: bad input is refused with codes and writes nothing`, async (t) => {
    const sut = await opened(t);
    const { store, epoch } = sut;
    await store.append(epoch, [jobSubmitted(1)]);
    await t.rejects(store.append(epoch, [jobSubmitted(2), { bad: Symbol('no') }]), { code: 'MUSTER_ERR_STORE_ENCODE' });
    await t.rejects(store.append(epoch, 'x' as unknown as unknown[]), { code: 'MUSTER_ERR_INVALID_TYPE' });
    for (const bad of [-1, 1.5, Number.NaN]) await t.rejects(store.append(bad, [jobSubmitted(2)]), { code: 'MUSTER_ERR_INVALID_VALUE' }, `epoch ${bad}`);
    await t.rejects(store.append(epoch - 1, [jobSubmitted(2)]), { code: 'MUSTER_ERR_FENCED' }, 'an older epoch');
    await t.rejects(store.writeSnapshot(2, new Uint8Array(1)), { code: 'MUSTER_ERR_INVALID_VALUE', message: /beyond the log/ });
    await t.rejects(store.writeSnapshot(-1, new Uint8Array(1)), { code: 'MUSTER_ERR_INVALID_VALUE' });
    await t.rejects(store.writeSnapshot(1, 'state' as unknown as Uint8Array), { code: 'MUSTER_ERR_INVALID_TYPE' });
    await store.writeSnapshot(1, Buffer.from('one'));
    await t.rejects(store.writeSnapshot(0, new Uint8Array(1)), { code: 'MUSTER_ERR_INVALID_VALUE', message: /older than the newest snapshot/ });
    t.same(await store.append(epoch, [jobSubmitted(2)]), { firstSeq: 2, lastSeq: 2 }, 'no refused append took a seq');
    const { r } = await recovered(t, sut);
    t.same([r.snapshot?.seq, counters(r)], [1, [2]], 'only what was accepted is there');
  });

  t.test(`${name}: before recover() writes are fenced; close flushes, then everything is refused`, async (t) => {
    const sut = await open();
    const { store } = sut;
    await t.rejects(store.append(0, [jobSubmitted(1)]), { code: 'MUSTER_ERR_FENCED' });
    await t.rejects(store.writeSnapshot(0, new Uint8Array(0)), { code: 'MUSTER_ERR_FENCED' });
    await t.rejects(store.compact(), { code: 'MUSTER_ERR_FENCED' });
    const { epoch } = await store.recover();
    const pending = store.append(epoch, [jobSubmitted(1)]);
    await store.close();
    t.same(await pending, { firstSeq: 1, lastSeq: 1 }, 'a pending append is written by close');
    await t.rejects(store.append(epoch, [jobSubmitted(2)]), { code: 'MUSTER_ERR_STORE_CLOSED' });
    await t.rejects(store.recover(), { code: 'MUSTER_ERR_STORE_CLOSED' });
    await t.rejects(store.writeSnapshot(1, new Uint8Array(1)), { code: 'MUSTER_ERR_STORE_CLOSED' });
    await t.rejects(store.compact(), { code: 'MUSTER_ERR_STORE_CLOSED' });
    await store.close(); // twice is fine
    const { r } = await recovered(t, sut);
    t.same(counters(r), [1]);
  });
}
