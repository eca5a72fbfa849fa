/**
 * The etcd store's group sink: the group committer hands it each sealed group (its records), and it writes
 * the group's events as log batches, one fenced transaction per batch, in seq order. A group within one
 * transaction's bytes is one key (`end: true`); a bigger one is cut into several keys, every one but the
 * last marked `end: false`, so readers take the group whole or not at all.
 *
 * Each put also requires its key not to exist (`version == 0`): two writers racing on the same seqs cannot
 * both succeed. When that compare fails while the fence holds, the key's value is read back in the same
 * transaction: our own bytes mean an earlier attempt of this very call was applied before the client retried
 * it (a member died before answering), which is success; anything else is `MUSTER_ERR_STORE_CORRUPT`.
 */
import type { Etcd3 } from 'etcd3';
import type { Logger } from '../log/index.js';
import { MusterError } from '../errors/index.js';
import type { GroupSink } from './group-commit.js';
import { encodeBatch, splitGroup } from './etcd-batch.js';
import { fencedTxn, type EtcdFence } from './etcd-calls.js';
import type { EtcdKeys } from './etcd-keys.js';

export class EtcdLogSink implements GroupSink {
  readonly #client: Etcd3;
  readonly #fence: EtcdFence;
  readonly #keys: EtcdKeys;
  readonly #maxValueBytes: number;
  readonly #log: Logger;

  constructor(client: Etcd3, fence: EtcdFence, keys: EtcdKeys, maxValueBytes: number, log: Logger) {
    this.#client = client;
    this.#fence = fence;
    this.#keys = keys;
    this.#maxValueBytes = maxValueBytes;
    this.#log = log;
  }

  async writeGroup(records: Buffer, firstSeq: number): Promise<void> {
    const runs = splitGroup(records, this.#maxValueBytes);
    let seq = firstSeq;
    for (let i = 0; i < runs.length; i++) {
      const run = runs[i] as Uint8Array[];
      await this.#put(seq, seq + run.length - 1, encodeBatch(seq, this.#fence.epoch, i === runs.length - 1, run));
      seq += run.length;
    }
  }

  async #put(firstSeq: number, lastSeq: number, value: Buffer): Promise<void> {
    const key = this.#keys.log(firstSeq);
    const what = `appending events ${firstSeq}..${lastSeq}`;
    const response = await fencedTxn(this.#client, this.#fence, what, {
      compare: [{ key, target: 'Version', result: 'Equal', version: 0 }],
      success: [{ request_put: { key, value } }],
      failure: [{ request_range: { key } }],
    });
    if (response.succeeded) return;
    const existing = response.responses[1]?.response_range.kvs[0];
    if (existing !== undefined && existing.value.equals(value)) {
      this.#log.warn({ key: key.toString() }, `${what}: the key was already written with these very bytes (an earlier attempt of this call was applied before the etcd client retried it)`);
      return;
    }
    throw new MusterError(
      'MUSTER_ERR_STORE_CORRUPT',
      `${what}: the log key ${key.toString()} already holds other events although the fence ${this.#fence.key} still has this writer's epoch ${this.#fence.epoch}: another store is writing with the same fence`,
    );
  }
}
