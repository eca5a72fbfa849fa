/**
 * The log follower against a real three-member etcd: a standby following a writer gets every event once,
 * in order; a late one (or one cut off while the writer snapshots and compacts etcd's history past it)
 * reloads from the snapshot; caughtUp() answers the writer's last seq; members killed and restarted one
 * after another while the writer appends lose nothing.
 */
import t from 'tap';
import type { Test } from 'tap';
import type { Etcd3 } from 'etcd3';
import type { MusterError } from '../../src/errors/index.js';
import type { Logger } from '../../src/log/index.js';
import { followEtcdLog, type EtcdStore, type LogFollower } from '../../src/store/index.js';
import { until } from '../helpers/until.js';
import { jobSubmitted } from './fixtures/events.js';
import { captureLogger } from './helpers.js';
import { openRecoveredEtcd, silent, startEtcd } from './etcd-helpers.js';
import { etcdClient } from '../../src/store/index.js';

/** A standby's view: what it was handed, in order, checked as it comes. */
class Standby {
  readonly follower: LogFollower;
  /** Counters of the events held now (a snapshot replaces them with its own, named in its state). */
  held: number[] = [];
  readonly snapshots: number[] = [];
  readonly errors: MusterError[] = [];
  /** Deliveries that did not start at the seq after the last one held. */
  readonly disorder: string[] = [];
  #last: number;

  constructor(client: Etcd3, prefix: string, after: number, logger: Logger = silent) {
    this.#last = after;
    this.follower = followEtcdLog({
      client,
      prefix,
      after,
      logger,
      onSnapshot: (snapshot) => {
        this.snapshots.push(snapshot.seq);
        this.held = JSON.parse(Buffer.from(snapshot.state).toString()) as number[];
        this.#last = snapshot.seq;
      },
      onEvents: (events) => {
        for (const e of events) {
          if (e.seq !== this.#last + 1) this.disorder.push(`seq ${e.seq} after ${this.#last}`);
          this.#last = e.seq;
          this.held.push((e.event as { counter: number }).counter);
        }
      },
      onError: (err) => this.errors.push(err),
    });
  }
}

/** The state a snapshot at `seq` carries here: the counters 1..seq (events are jobSubmitted(seq)). */
const stateAt = (seq: number): Buffer => Buffer.from(JSON.stringify(range(1, seq)));

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}

/** Appends jobSubmitted(from..to) as concurrent appends of one to three events, and a big one now and then. */
async function appendRange(store: EtcdStore, epoch: number, from: number, to: number): Promise<void> {
  const appends: Promise<unknown>[] = [];
  for (let seq = from; seq <= to; ) {
    const n = Math.min(to - seq + 1, seq % 50 === 0 ? 40 : 1 + (seq % 3));
    appends.push(store.append(epoch, range(seq, seq + n - 1).map(jobSubmitted)));
    seq += n;
  }
  await Promise.all(appends);
}

t.test('against a three-member etcd', async (t) => {
  const etcd = await startEtcd(t);
  const { client } = etcd;
  const writer = async (t: Test, prefix: string, c: Etcd3 = client) => {
    const w = await openRecoveredEtcd(c, prefix, { maxBatchBytes: 4096 });
    t.teardown(() => w.store.close());
    return w;
  };
  const standby = (t: Test, prefix: string, after: number, c: Etcd3 = client, logger?: Logger): Standby => {
    const s = new Standby(c, prefix, after, logger);
    t.teardown(() => s.follower.close());
    return s;
  };

  t.test('a standby following a writer gets every event exactly once, in order, through the watch', async (t) => {
    const prefix = etcd.prefix();
    const w = await writer(t, prefix);
    const s = standby(t, prefix, 0);
    await s.follower.caughtUp(); // the watch is in place
    for (let round = 0; round < 10; round++) await appendRange(w.store, w.epoch, round * 100 + 1, round * 100 + 100);
    await until('the standby to hold seq 1000', async () => s.follower.lastSeq, (seq) => seq === 1000);
    t.same(s.held, range(1, 1000), 'every event once, in order');
    t.same([s.disorder, s.snapshots, s.errors], [[], [], []]);
    t.equal(await s.follower.caughtUp(), 1000, 'caughtUp() answers the writer’s last seq');
  });

  t.test('caughtUp() resolves once everything committed before the call is delivered', async (t) => {
    const prefix = etcd.prefix();
    const w = await writer(t, prefix);
    const s = standby(t, prefix, 0);
    for (let i = 1; i <= 5; i++) {
      await appendRange(w.store, w.epoch, (i - 1) * 60 + 1, i * 60);
      t.equal(await s.follower.caughtUp(), i * 60, `after round ${i}`);
    }
    t.same(s.held, range(1, 300));
  });

  t.test('after a snapshot, compaction and etcd history compacted past them, late standbys start right', async (t) => {
    const prefix = etcd.prefix();
    const w = await writer(t, prefix);
    await appendRange(w.store, w.epoch, 1, 200);
    await w.store.writeSnapshot(150, stateAt(150));
    await w.store.compact();
    const behind = standby(t, prefix, 10); // its next seq is gone from the log: the snapshot
    const ahead = standby(t, prefix, 170); // the log still holds what follows: no snapshot
    const current = standby(t, prefix, 200);
    for (const s of [behind, ahead, current]) t.equal(await s.follower.caughtUp(), 200);
    t.same([behind.snapshots, behind.held], [[150], range(1, 200)], 'from the snapshot at 150, then 151..200');
    t.same([ahead.snapshots, ahead.held], [[], range(171, 200)]);
    t.same([current.snapshots, current.held], [[], []]);
    await appendRange(w.store, w.epoch, 201, 260);
    for (const s of [behind, ahead, current]) await until('the standby to hold seq 260', async () => s.follower.lastSeq, (seq) => seq === 260);
    t.same([behind.held.slice(-60), ahead.held.slice(-60), current.held], [range(201, 260), range(201, 260), range(201, 260)]);
    t.same([behind.disorder, ahead.disorder, current.disorder, behind.errors, ahead.errors, current.errors], [[], [], [], [], [], []]);

    const beyond = standby(t, prefix, 500);
    await t.rejects(beyond.follower.caughtUp(), { code: 'MUSTER_ERR_INVALID_VALUE', message: /beyond the store/ });
    await until('the error to be reported', async () => beyond.errors.map((e) => e.code), (codes) => codes.includes('MUSTER_ERR_INVALID_VALUE'));
    t.same(beyond.held, [], 'a standby ahead of the store is handed nothing and stops');
  });

  t.test('a standby cut off while the writer snapshots and compacts past it reloads from the snapshot', async (t) => {
    const prefix = etcd.prefix();
    const [m0, m1, m2] = etcd.cluster.endpoints;
    const writerClient = etcdClient({ endpoints: [m1 as string, m2 as string] }); // never paused
    const standbyClient = etcdClient({ endpoints: [m0 as string] }); // only the member paused below
    t.teardown(() => {
      etcd.cluster.resume(0);
      writerClient.close();
      standbyClient.close();
    });
    const w = await writer(t, prefix, writerClient);
    const { logger, lines } = captureLogger();
    const s = standby(t, prefix, 0, standbyClient, logger);
    await appendRange(w.store, w.epoch, 1, 100);
    t.equal(await s.follower.caughtUp(), 100);
    etcd.cluster.pause(0);
    await appendRange(w.store, w.epoch, 101, 300);
    await w.store.writeSnapshot(250, stateAt(250));
    await w.store.compact(); // log keys up to 250 gone, etcd's history compacted past the standby's watch
    await t.rejects(s.follower.caughtUp(), { code: 'MUSTER_ERR_STORE_FAILED' }, 'a read while the member is paused fails at its deadline');
    // The silent watch is given up (a progress request unanswered): from here on the standby must read.
    await until('the standby to give up its watch', async () => lines.map((l) => l.msg), (msgs) => msgs.some((m) => m.startsWith('the watch on the etcd log failed')));
    etcd.cluster.resume(0);
    await until('the standby to hold seq 300', async () => s.follower.lastSeq, (seq) => seq === 300, undefined, () => `the standby's log: ${JSON.stringify(lines.slice(-15))}; errors: ${s.errors.map((e) => e.message).join(' | ')}`);
    t.same(s.snapshots, [250], 'reloaded from the snapshot: the log no longer held seq 101');
    t.same([s.held, s.disorder], [range(1, 300), []]);
    t.ok(s.errors.every((e) => e.code === 'MUSTER_ERR_STORE_FAILED'), 'only failures of etcd, which it retried');
  });

  t.test('members killed and restarted one after another while the writer appends: the standby loses nothing', async (t) => {
    const prefix = etcd.prefix();
    const w = await writer(t, prefix);
    const s = standby(t, prefix, 0);
    let last = 0;
    let stop = false;
    const appending = (async () => {
      while (!stop) {
        await appendRange(w.store, w.epoch, last + 1, last + 30);
        last += 30;
      }
    })();
    t.teardown(() => {
      stop = true;
      return appending.catch(() => undefined);
    });
    for (const member of [0, 1, 2]) {
      const before = last;
      await etcd.cluster.kill(member);
      await until(`the writer to go on without member ${member}`, async () => last, (seq) => seq >= before + 150);
      await etcd.cluster.restart(member);
      await until(`the standby to follow past member ${member}'s restart`, async () => s.follower.lastSeq, (seq) => seq >= before + 150);
    }
    stop = true;
    await appending;
    t.equal(await s.follower.caughtUp(), last, "caughtUp() answers the writer's last seq");
    t.same(s.held, range(1, last), `all ${last} events, once, in order`);
    t.same([s.disorder, s.snapshots], [[], []]);
  });
});
