/**
 * etcd unavailable (every member paused) against a real three-member etcd: an append fails with
 * MUSTER_ERR_STORE_FAILED within its deadline instead of hanging, and so does every later write; a
 * follower's caughtUp() fails the same way and the follower catches up once etcd is back.
 */
import { performance } from 'node:perf_hooks';
import t from 'tap';
import { ETCD_CALL_DEADLINE_MS, followEtcdLog, openEtcdStore } from '../../src/store/index.js';
import { until } from '../helpers/until.js';
import { jobSubmitted } from './fixtures/events.js';
import { openRecoveredEtcd, silent, startEtcd } from './etcd-helpers.js';

/** How late past its deadline a failure may come on a loaded machine (timers, the retry pause). */
const SLACK_MS = 5000;

t.test('against a three-member etcd', async (t) => {
  const etcd = await startEtcd(t);
  const { client, cluster } = etcd;
  const resumeAll = (): void => cluster.members.forEach((_, i) => cluster.resume(i));
  t.teardown(resumeAll); // should an assertion stop the test while they are paused

  t.test('every member paused: an append fails with MUSTER_ERR_STORE_FAILED within its deadline, then the store refuses writes', async (t) => {
    const prefix = etcd.prefix();
    const w = await openRecoveredEtcd(client, prefix);
    t.teardown(() => w.store.close().catch(() => undefined));
    t.same(await w.store.append(w.epoch, [jobSubmitted(1), jobSubmitted(2)]), { firstSeq: 1, lastSeq: 2 });
    const seen: number[] = [];
    const follower = followEtcdLog({ client, prefix, after: 0, logger: silent, onSnapshot: () => undefined, onEvents: (events) => seen.push(...events.map((e) => e.seq)) });
    t.teardown(() => follower.close());
    t.equal(await follower.caughtUp(), 2);

    cluster.members.forEach((_, i) => cluster.pause(i));
    const started = performance.now();
    await t.rejects(w.store.append(w.epoch, [jobSubmitted(3)]), { code: 'MUSTER_ERR_STORE_FAILED', message: /etcd: appending events 3\.\.3/ });
    const ms = performance.now() - started;
    t.ok(ms < ETCD_CALL_DEADLINE_MS + SLACK_MS, `failed after ${Math.round(ms)} ms`);
    const again = performance.now();
    await t.rejects(w.store.append(w.epoch, [jobSubmitted(4)]), { code: 'MUSTER_ERR_STORE_FAILED' }, 'a later append is refused');
    await t.rejects(w.store.writeSnapshot(2, Buffer.from('s')), { code: 'MUSTER_ERR_STORE_FAILED' }, 'and a snapshot');
    t.ok(performance.now() - again < 1000, 'at once, without asking etcd');
    const reading = performance.now();
    await t.rejects(follower.caughtUp(), { code: 'MUSTER_ERR_STORE_FAILED' });
    t.ok(performance.now() - reading < ETCD_CALL_DEADLINE_MS + SLACK_MS, "the follower's read fails within its deadline too");

    resumeAll();
    // What is durable is decided by etcd alone: seq 3 may or may not be there (its append never resolved).
    // The client's circuit breakers refuse calls for a few seconds after the outage: until then, opening fails.
    const next = await until('etcd to answer again', () => openEtcdStore({ client, prefix, fence: w.fence, logger: silent }).catch((err: Error) => err), (s) => !(s instanceof Error));
    if (next instanceof Error) throw next;
    t.teardown(() => next.close());
    const r = await next.recover();
    t.ok(r.lastSeq === 2 || r.lastSeq === 3, 'the acknowledged events are there');
    const last = r.lastSeq;
    await until('the follower to catch up', () => follower.caughtUp().catch(() => -1), (seq) => seq === last);
    t.same(seen, Array.from({ length: last }, (_, i) => i + 1), 'the follower lost nothing and repeated nothing');
  });
});
