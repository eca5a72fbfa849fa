/**
 * The snapshot file (`snapshot-<seq>.snap`): the caller's state bytes after event `seq`, behind a header:
 *
 *   offset  size  field
 *   0       8     magic "MUSTSNP1"
 *   8       8     seq, float64 little-endian (matches the file name)
 *   16      4     state length, u32 little-endian
 *   20      4     CRC-32 (zlib) of the state
 *   24      n     state
 *
 * It is written to a temporary file, fsynced, renamed and the folder fsynced (data-folder.ts), so a crash
 * leaves the old snapshot or the new one. Since it is never written in place, a damaged snapshot is media
 * damage: reading it fails with `MUSTER_ERR_STORE_CORRUPT` rather than falling back to an older state.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { MusterError } from '../errors/index.js';
import type { Snapshot } from './store.js';
import { replaceFileDurably, snapshotName, TEMPORARY_SUFFIX } from './data-folder.js';
import { openNodeFile, writeAll, type OpenFile } from './file-system.js';

const MAGIC = Buffer.from('MUSTSNP1', 'latin1');
const HEADER_BYTES = 24;

function writeHeader(bytes: Buffer, seq: number, state: Uint8Array): void {
  MAGIC.copy(bytes, 0);
  bytes.writeDoubleLE(seq, 8);
  bytes.writeUInt32LE(state.length, 16);
  bytes.writeUInt32LE(crc32(state), 20);
}

export function encodeSnapshot(seq: number, state: Uint8Array): Buffer {
  const bytes = Buffer.allocUnsafe(HEADER_BYTES + state.length);
  writeHeader(bytes, seq, state);
  bytes.set(state, HEADER_BYTES);
  return bytes;
}

export function decodeSnapshot(bytes: Buffer, path: string, expectedSeq: number): Snapshot {
  const damaged = (what: string): MusterError => new MusterError('MUSTER_ERR_STORE_CORRUPT', `snapshot ${path} is damaged: ${what}`);
  if (bytes.length < HEADER_BYTES || !bytes.subarray(0, 8).equals(MAGIC)) throw damaged('no snapshot header');
  const seq = bytes.readDoubleLE(8);
  if (seq !== expectedSeq) throw damaged(`it says seq ${seq}, its name says ${expectedSeq}`);
  const length = bytes.readUInt32LE(16);
  if (bytes.length !== HEADER_BYTES + length) throw damaged(`${bytes.length - HEADER_BYTES} state bytes, the header says ${length}`);
  const state = bytes.subarray(HEADER_BYTES);
  if (crc32(state) !== bytes.readUInt32LE(20)) throw damaged('checksum mismatch');
  return { seq, state: new Uint8Array(state.buffer, state.byteOffset, state.length) };
}

export async function readSnapshotFile(path: string, seq: number): Promise<Snapshot> {
  return decodeSnapshot(await readFile(path), path, seq);
}

export async function writeSnapshotFile(openFile: OpenFile, dir: string, seq: number, state: Uint8Array): Promise<void> {
  await replaceFileDurably(openFile, dir, snapshotName(seq), encodeSnapshot(seq, state));
}

/**
 * Writes the snapshot file for `state` after event `seq` into `dir` under a temporary name of its own and
 * fsyncs it, without the store: what a CPU-pool thread does with the state it folded, so that the main
 * thread never copies, checksums or holds the bytes. `EmbeddedStore.adoptSnapshot` then renames it into
 * place. A staged file never adopted (a crash, an abandoned fold) ends in `.tmp`, which opening the store
 * removes. The header and the state are written apart: no second copy of a state of hundreds of MiB.
 */
export async function stageSnapshotFile(dir: string, seq: number, state: Uint8Array, openFile: OpenFile = openNodeFile): Promise<string> {
  const path = join(dir, `${snapshotName(seq)}.staged-${randomUUID()}${TEMPORARY_SUFFIX}`);
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  writeHeader(header, seq, state);
  const handle = await openFile(path, 'wx');
  try {
    await writeAll(handle, header, 0);
    await writeAll(handle, state, HEADER_BYTES);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return path;
}
