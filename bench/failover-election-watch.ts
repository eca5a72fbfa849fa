/**
 * The failover benchmark's own view of the election: a watch on the election's folder in etcd
 * (`PREFIX/election/<lease hex>`, one key per candidacy, bound to its lease: src/ha/README.md) from a client
 * of this process, recording when each candidate key appeared and when it went, on this process's monotonic
 * clock. A killed leader's key goes when etcd expires its lease, which no replica logs: this is how a
 * failover's first step (the lease's TTL running out) is told apart from the standby's election after it.
 */
import { performance } from 'node:perf_hooks';
import { Etcd3 } from 'etcd3';
import type { Watcher } from 'etcd3';

export interface ElectionChange {
  readonly kind: 'put' | 'delete';
  readonly key: string;
  /** `performance.now()` when the watch delivered it. */
  readonly at: number;
}

export class ElectionWatch {
  readonly changes: ElectionChange[] = [];
  readonly #client: Etcd3;
  readonly #watcher: Watcher;

  private constructor(client: Etcd3, watcher: Watcher) {
    this.#client = client;
    this.#watcher = watcher;
    watcher.on('put', (kv) => this.changes.push({ kind: 'put', key: kv.key.toString('utf8'), at: performance.now() }));
    watcher.on('delete', (kv) => this.changes.push({ kind: 'delete', key: kv.key.toString('utf8'), at: performance.now() }));
  }

  /** Watches `prefix`'s election folder on the etcd cluster at `endpoints` (resolves once the watch is set up). */
  static async start(endpoints: readonly string[], prefix: string): Promise<ElectionWatch> {
    const client = new Etcd3({ hosts: [...endpoints] });
    const watcher = await client.watch().prefix(`${prefix}/election/`).create();
    return new ElectionWatch(client, watcher);
  }

  /** The first key deletion seen at or after `since`, if any yet. */
  firstDeletionAfter(since: number): ElectionChange | undefined {
    return this.changes.find((c) => c.kind === 'delete' && c.at >= since);
  }

  async close(): Promise<void> {
    await this.#watcher.cancel();
    this.#client.close();
  }
}
