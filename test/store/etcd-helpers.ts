/**
 * Shared by the etcd store's tests: a three-member etcd for one test file, unique prefixes, fence keys made
 * the way an election makes them (a key whose create revision is the epoch, bound to a lease or not), and
 * reads of what the store left in etcd.
 */
import type { Test } from 'tap';
import type { Etcd3, IKeyValue } from 'etcd3';
import { createLogger } from '../../src/log/index.js';
import { openEtcdStore, type EtcdFence, type EtcdStore, type EtcdStoreOptions } from '../../src/store/index.js';
import { EtcdCluster } from '../helpers/etcd-cluster.js';
import { etcdClient } from '../../src/store/index.js';

export const silent = createLogger({ name: 'store', level: 'silent' });

export interface EtcdTestbed {
  readonly cluster: EtcdCluster;
  readonly client: Etcd3;
  /** A prefix no other test of the file uses. */
  prefix(): string;
}

let prefixes = 0;

/** Starts a three-member cluster for `t` and its subtests; closed (and checked gone) at `t`'s end. */
export async function startEtcd(t: Test): Promise<EtcdTestbed> {
  const cluster = await EtcdCluster.start({ members: 3 });
  const client = etcdClient({ endpoints: cluster.endpoints });
  t.teardown(async () => {
    client.close();
    await cluster.close();
  });
  return { cluster, client, prefix: () => `/t${++prefixes}` };
}

/** Puts `key` (no lease) and returns it as a fence: its create revision is the epoch. */
export async function plainFence(client: Etcd3, key: string): Promise<EtcdFence> {
  await client.put(key).value('leader');
  return { key, epoch: await createRevision(client, key) };
}

/** A leader's election key: bound to a lease of its own, so revoking the lease deletes it. */
export async function leaseFence(client: Etcd3, key: string, ttlSeconds = 30): Promise<{ fence: EtcdFence; revoke(): Promise<void> }> {
  const lease = client.lease(ttlSeconds, { autoKeepAlive: true });
  await lease.put(key).value('leader');
  return { fence: { key, epoch: await createRevision(client, key) }, revoke: () => lease.revoke() };
}

export async function createRevision(client: Etcd3, key: string): Promise<number> {
  const response = await client.kv.range({ key: Buffer.from(key) });
  const kv = response.kvs[0];
  if (kv === undefined) throw new Error(`no key ${key}`);
  return Number(kv.create_revision);
}

/** Every key under `prefix`, without its value. */
export async function keysUnder(client: Etcd3, prefix: string): Promise<IKeyValue[]> {
  const start = Buffer.from(`${prefix}/`);
  const end = Buffer.from(`${prefix}0`); // '/' + 1
  const response = await client.kv.range({ key: start, range_end: end, keys_only: true });
  return response.kvs;
}

export async function keyNames(client: Etcd3, prefix: string, under = ''): Promise<string[]> {
  return (await keysUnder(client, prefix)).map((kv) => kv.key.toString()).filter((k) => k.startsWith(`${prefix}/${under}`));
}

/** etcd's current revision. */
export async function currentRevision(client: Etcd3): Promise<number> {
  return Number((await client.kv.range({ key: Buffer.from('\0'), count_only: true })).header.revision);
}

/** Opens a store on `prefix` with a fresh plain fence and recovers it. */
export async function openRecoveredEtcd(client: Etcd3, prefix: string, options: Partial<EtcdStoreOptions> = {}): Promise<{ store: EtcdStore; epoch: number; fence: EtcdFence }> {
  const fence = options.fence ?? (await plainFence(client, `${prefix}-leader`));
  const store = await openEtcdStore({ client, prefix, fence, logger: silent, ...options });
  const { epoch } = await store.recover();
  return { store, epoch, fence };
}
