/** The test etcd cluster itself: three real members answer, a killed member comes back, nothing is left. */
import t from 'tap';
import { Etcd3 } from 'etcd3';
import { EtcdCluster } from './etcd-cluster.js';

t.test('three members start, hold a key across a member kill and restart, and are gone after close', async (t) => {
  const cluster = await EtcdCluster.start({ members: 3 });
  const client = new Etcd3({ hosts: cluster.endpoints });
  try {
    await client.put('k').value('v');
    await cluster.kill(0);
    t.equal(await client.get('k').string(), 'v', 'two of three members still answer');
    await cluster.restart(0);
    const only0 = new Etcd3({ hosts: [cluster.members[0]!.clientUrl] });
    t.equal(await only0.get('k').string(), 'v', 'the restarted member holds the key');
    only0.close();
  } finally {
    client.close();
    await cluster.close();
  }
  t.same(cluster.alive(), [], 'no member left running');
});
