/**
 * A leader whose process is frozen (SIGSTOP) past its TTL: a standby in this process is elected with a
 * higher epoch; when the frozen one continues it reports itself deposed, never acts under its old epoch
 * again, and campaigns again behind the new leader; after close() its process ends by itself (no timer,
 * watch or connection left).
 */
import t from 'tap';
import { Etcd3 } from 'etcd3';
import { EtcdCluster } from '../helpers/etcd-cluster.js';
import { until } from '../helpers/until.js';
import { ChildCandidate } from './child-candidate.js';
import { candidateKeys, leadership, overlaps, Replica, WAIT_MS } from './helpers.js';

t.test('a frozen leader is replaced, steps down when it runs again, rejoins, and exits after close', async (t) => {
  const cluster = await EtcdCluster.start({ members: 3 });
  const admin = new Etcd3({ hosts: cluster.endpoints });
  const child = new ChildCandidate(cluster.endpoints, 'frozen', '/frozen');
  let standby: Replica | undefined;
  t.teardown(async () => {
    await child.kill();
    await standby?.close();
    admin.close();
    await cluster.close();
  });

  const elected = await child.waitFor((l) => l.event === 'elected');
  const oldEpoch = elected['epoch'] as number;
  standby = new Replica(cluster.endpoints, 'standby', { prefix: '/frozen' });
  await standby.waitFor('leader', (l) => l?.id === 'frozen' && l.epoch === oldEpoch);
  await until('the standby is a candidate', () => candidateKeys(admin, '/frozen'), (keys) => keys.length === 2);

  child.signal('SIGSTOP');
  // "Past the TTL": until the standby is elected, which needs the frozen leader's lease to have expired.
  const taken = await standby.waitFor('elected');
  t.ok(taken.value.epoch > oldEpoch, `the standby leads with a higher epoch (${oldEpoch} → ${taken.value.epoch})`);
  const mark = child.lines.length;
  const continuedAt = Date.now();
  child.signal('SIGCONT');

  const deposed = await child.waitFor((l) => l.event === 'deposed', mark);
  t.equal(deposed['epoch'], oldEpoch, 'the frozen one is deposed from its old epoch');
  t.ok(deposed['reason'] === 'deadline' || deposed['reason'] === 'key-deleted', `for ${String(deposed['reason'])}`);
  await child.waitFor((l) => l.event === 'leader' && (l['leader'] as { epoch?: number } | null)?.epoch === taken.value.epoch, mark);
  t.pass('it learns the new leader');
  const keys = await until('the frozen one has a new key', () => candidateKeys(admin, '/frozen'), (keys) => keys.some((k) => k.id === 'frozen' && k.createRevision > taken.value.epoch));
  t.equal(keys[0]!.createRevision, taken.value.epoch, 'and stands behind it');
  t.ok(standby.election.isLeader, 'the standby still leads');

  t.same(
    child.lines.filter((l) => l.event === 'acting' && l['epoch'] === oldEpoch && l.wall >= continuedAt),
    [],
    'no act under the old epoch after it continued (fence reads the clock, not only the timer)',
  );
  t.equal(child.lines.filter((l) => l.event === 'elected').length, 1, 'not elected again');
  t.ok(
    child.lines.some((l) => l.event === 'acting' && l['epoch'] === oldEpoch),
    'it did act while it led (the check above is not vacuous)',
  );

  child.send('close');
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([child.exited, new Promise((resolve) => (timer = setTimeout(resolve, WAIT_MS, 'still running')))]);
  clearTimeout(timer);
  t.equal(code, 0, 'after close() the child process ends by itself');
  t.ok(child.lines.some((l) => l.event === 'closed'), 'having closed');
  await until('its key is gone', () => candidateKeys(admin, '/frozen'), (keys) => keys.every((k) => k.id !== 'frozen'));
  t.same(overlaps(leadership([standby])), [], 'the standby led once');
});
