/**
 * The store contract (contract.ts) on the etcd store, against a real three-member etcd started once for the
 * file: a prefix and a fence key of its own per case, small transactions (4 KiB) so that batches and
 * snapshots split into several keys.
 */
import t from 'tap';
import { openEtcdStore, type EtcdStore } from '../../src/store/index.js';
import { storeContract } from './contract.js';
import { keyNames, plainFence, silent, startEtcd } from './etcd-helpers.js';

const BATCH_BYTES = 4096;

t.test('etcd', async (t) => {
  const etcd = await startEtcd(t);
  storeContract(t, 'etcd', async () => {
    const prefix = etcd.prefix();
    const fence = await plainFence(etcd.client, `${prefix}-leader`);
    const open = (): Promise<EtcdStore> => openEtcdStore({ client: etcd.client, prefix, fence, logger: silent, maxBatchBytes: BATCH_BYTES });
    let current = await open();
    return {
      get store() {
        return current;
      },
      reopen: async () => {
        await current.close();
        current = await open();
        return current;
      },
      writes: async () => (await keyNames(etcd.client, prefix, 'log/')).length,
      // 100 events of about 230 bytes of msgpack: some 23 KB, six 4 KiB batches.
      bigAppend: { events: 100, minWrites: 5 },
    };
  });
});
