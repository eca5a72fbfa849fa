/**
 * SIGKILL of an etcd member, each of the three in turn (so the etcd leader among them): quorum holds, so
 * the leader stays leader, or at worst a leader is elected again; no two replicas ever lead at once.
 * All candidates run in this process, so their leaderships compare on one monotonic clock.
 */
import t from 'tap';
import { performance } from 'node:perf_hooks';
import { DEFAULT_MARGIN_MS, DEFAULT_TTL_SECONDS } from '../../src/ha/index.js';
import { EtcdCluster } from '../helpers/etcd-cluster.js';
import { agreedLeader, leadership, overlaps, Replica } from './helpers.js';

const TTL_MS = DEFAULT_TTL_SECONDS * 1000;
const WINDOW_MS = TTL_MS - DEFAULT_MARGIN_MS;

t.test('a member killed at a time: one leader throughout, or another after it, never two', async (t) => {
  const cluster = await EtcdCluster.start({ members: 3 });
  const replicas = ['a', 'b', 'c'].map((id) => new Replica(cluster.endpoints, id, { prefix: '/kills' }));
  t.teardown(async () => {
    await Promise.all(replicas.map((r) => r.close()));
    await cluster.close();
  });
  const first = await agreedLeader(replicas);
  let epoch = first.epoch;
  for (let i = 0; i < cluster.members.length; i++) {
    const killedAt = performance.now();
    await cluster.kill(i);
    // Held down until the leader's deadline rests on a keepalive sent a full TTL after the kill (deadline =
    // send time + TTL − margin): the two members left kept answering, the lease outlived the dead member.
    const now = await agreedLeader(replicas, (leader) => leader.election.deadline! > killedAt + TTL_MS + WINDOW_MS);
    t.ok(now.epoch >= epoch, `member ${i} killed: ${now.epoch === epoch ? 'the leader stayed leader' : `another leader (epoch ${epoch} → ${now.epoch})`}`);
    epoch = now.epoch;
    await cluster.restart(i);
  }
  await agreedLeader(replicas);
  const depositions = replicas.flatMap((r) => r.events.filter((e) => e.kind === 'deposed').map((e) => `${r.id}: ${JSON.stringify(e.value)}`));
  t.comment(`depositions over three kills: ${depositions.length === 0 ? 'none' : depositions.join('; ')}`);
  t.same(overlaps(leadership(replicas)), [], 'no two leaderships overlap, epochs rise');
});
