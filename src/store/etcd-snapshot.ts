/**
 * Snapshots in etcd: the state cut into chunks of at most one transaction's worth of bytes at
 * `PREFIX/snapshot/SEQ/CHUNK`, then the manifest `PREFIX/snapshot/manifest` (seq, chunk count, byte length,
 * CRC-32 of the state) written last. The manifest names the snapshot in force, so a writer stopped midway
 * leaves the old snapshot in force (its chunks untouched) and the new chunks as garbage the next write
 * removes. Every write is a fenced transaction.
 *
 * Reading takes the manifest and its chunks at one revision and checks the chunks against it (count, length,
 * CRC): a mismatch is `MUSTER_ERR_STORE_CORRUPT`, never an older state.
 */
import { crc32 } from 'node:zlib';
import type { Etcd3 } from 'etcd3';
import { MusterError } from '../errors/index.js';
import type { Snapshot } from './store.js';
import { decodeManifest, encodeManifest, type SnapshotManifest } from './etcd-batch.js';
import { etcdCall, fencedTxn, readPaged, type EtcdFence } from './etcd-calls.js';
import { rangeEnd, type EtcdKeys } from './etcd-keys.js';

/** The manifest in force at `revision` (0: the newest), and the revision read at. */
export async function readManifest(client: Etcd3, keys: EtcdKeys, revision: number): Promise<{ manifest: SnapshotManifest | undefined; revision: number }> {
  const response = await etcdCall('reading the snapshot manifest', (o) => client.kv.range({ key: keys.manifest, revision }, o));
  const kv = response.kvs[0];
  return { manifest: kv === undefined ? undefined : decodeManifest(keys.manifest, kv.value), revision: Number(response.header.revision) };
}

/** The snapshot `manifest` names, read at `revision` and checked against it. */
export async function readSnapshotChunks(client: Etcd3, keys: EtcdKeys, manifest: SnapshotManifest, revision: number): Promise<Snapshot> {
  const { seq } = manifest;
  const corrupt = (why: string): MusterError => new MusterError('MUSTER_ERR_STORE_CORRUPT', `the snapshot at seq ${seq} in etcd does not match its manifest ${keys.manifest.toString()}: ${why}`);
  const state = Buffer.allocUnsafe(manifest.bytes);
  let offset = 0;
  let index = 0;
  await readPaged(client, `reading the snapshot at seq ${seq}`, { start: keys.chunk(seq, 0), end: keys.chunk(seq, manifest.chunks), revision }, (kvs) => {
    for (const kv of kvs) {
      if (!kv.key.equals(keys.chunk(seq, index))) throw corrupt(`chunk ${index} is missing (found ${kv.key.toString()})`);
      if (offset + kv.value.length > manifest.bytes) throw corrupt(`the chunks hold more than the ${manifest.bytes} bytes it names`);
      kv.value.copy(state, offset);
      offset += kv.value.length;
      index++;
    }
  });
  if (index !== manifest.chunks) throw corrupt(`${index} of ${manifest.chunks} chunks found`);
  if (offset !== manifest.bytes) throw corrupt(`the chunks hold ${offset} of ${manifest.bytes} bytes`);
  if (crc32(state) !== manifest.crc32) throw corrupt('checksum mismatch');
  return { seq, state };
}

export interface SnapshotWrite {
  readonly client: Etcd3;
  readonly fence: EtcdFence;
  readonly keys: EtcdKeys;
  readonly seq: number;
  readonly state: Uint8Array;
  readonly chunkBytes: number;
}

/**
 * Writes the snapshot (leftover chunks at its seq cleared, chunks, manifest last), then deletes every other
 * snapshot's chunks. Each step is a fenced transaction; `MUSTER_ERR_FENCED` at any step leaves the snapshot
 * in force as it was. Returns the new manifest.
 */
export async function writeEtcdSnapshot(w: SnapshotWrite): Promise<SnapshotManifest> {
  const { client, fence, keys, seq, state, chunkBytes } = w;
  const dir = keys.snapshotDir(seq);
  // Chunks at this seq are left over from a write that stopped before its manifest: not in force, and a
  // shorter snapshot must not inherit their tail.
  await fencedTxn(client, fence, `clearing leftover chunks of a snapshot at seq ${seq}`, { success: [{ request_delete_range: { key: dir, range_end: rangeEnd(dir) } }] });
  const bytes = Buffer.from(state.buffer, state.byteOffset, state.byteLength); // a view, not a copy
  const chunks = Math.ceil(bytes.length / chunkBytes);
  for (let i = 0; i < chunks; i++) {
    const value = bytes.subarray(i * chunkBytes, Math.min(bytes.length, (i + 1) * chunkBytes));
    await fencedTxn(client, fence, `writing chunk ${i + 1} of ${chunks} of the snapshot at seq ${seq}`, { success: [{ request_put: { key: keys.chunk(seq, i), value } }] });
  }
  const manifest: SnapshotManifest = { seq, chunks, bytes: bytes.length, crc32: crc32(bytes), epoch: fence.epoch };
  await fencedTxn(client, fence, `writing the manifest of the snapshot at seq ${seq}`, { success: [{ request_put: { key: keys.manifest, value: encodeManifest(manifest) } }] });
  // Every other snapshot's chunks: the one this replaces, and garbage of writes that never got a manifest.
  await fencedTxn(client, fence, `deleting the snapshots older than seq ${seq}`, {
    success: [{ request_delete_range: { key: keys.snapshotStart, range_end: dir } }, { request_delete_range: { key: rangeEnd(dir), range_end: keys.manifest } }],
  });
  return manifest;
}
