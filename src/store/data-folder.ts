/**
 * The data folder: what its files are called, how to list them, and the one way the store replaces a small
 * file atomically (temporary file, fsync, rename, directory fsync).
 *
 *   LOCK                              the owner's pid (lock.ts)
 *   meta.json                         format version and newest epoch (meta.ts)
 *   segment-<first seq, 20 digits>.log   records (record-codec.ts), seqs consecutive across files
 *   snapshot-<seq, 20 digits>.snap    the newest snapshot (snapshot-file.ts)
 *   *.tmp                             a replacement being written; removed on open
 *   history/segment-<first seq>.log   segments compaction archived (for replay), oldest dropped first
 */
import { readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeAll, type OpenFile } from './file-system.js';

export const LOCK_FILE = 'LOCK';
export const META_FILE = 'meta.json';
/** The subfolder compaction moves covered segments into; recovery never looks there. */
export const HISTORY_FOLDER = 'history';
export const TEMPORARY_SUFFIX = '.tmp';
const SEGMENT = /^segment-(\d{20})\.log$/;
const SNAPSHOT = /^snapshot-(\d{20})\.snap$/;

export function segmentName(firstSeq: number): string {
  return `segment-${String(firstSeq).padStart(20, '0')}.log`;
}

export function snapshotName(seq: number): string {
  return `snapshot-${String(seq).padStart(20, '0')}.snap`;
}

export interface FolderEntry {
  /** The segment's first seq, or the snapshot's seq. */
  readonly seq: number;
  readonly path: string;
}

export interface FolderListing {
  /** By first seq, ascending. */
  readonly segments: readonly FolderEntry[];
  /** By seq, ascending. */
  readonly snapshots: readonly FolderEntry[];
  readonly temporaries: readonly string[];
}

export async function listFolder(dir: string): Promise<FolderListing> {
  const segments: FolderEntry[] = [];
  const snapshots: FolderEntry[] = [];
  const temporaries: string[] = [];
  for (const name of await readdir(dir)) {
    const segment = SEGMENT.exec(name);
    const snapshot = SNAPSHOT.exec(name);
    if (segment?.[1] !== undefined) segments.push({ seq: Number(segment[1]), path: join(dir, name) });
    else if (snapshot?.[1] !== undefined) snapshots.push({ seq: Number(snapshot[1]), path: join(dir, name) });
    else if (name.endsWith(TEMPORARY_SUFFIX)) temporaries.push(join(dir, name));
  }
  const bySeq = (a: FolderEntry, b: FolderEntry): number => a.seq - b.seq;
  return { segments: segments.sort(bySeq), snapshots: snapshots.sort(bySeq), temporaries };
}

/** fsync of the folder itself, so that created, renamed and removed names survive a crash. */
export async function syncFolder(openFile: OpenFile, dir: string): Promise<void> {
  const handle = await openFile(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Replaces `dir/name` with `bytes` atomically: after a crash the old content or the new, never a mix. */
export async function replaceFileDurably(openFile: OpenFile, dir: string, name: string, bytes: Uint8Array): Promise<void> {
  const target = join(dir, name);
  const temporary = target + TEMPORARY_SUFFIX;
  await unlink(temporary).catch(ignoreMissing);
  const handle = await openFile(temporary, 'wx');
  try {
    await writeAll(handle, bytes, 0);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, target);
  await syncFolder(openFile, dir);
}

export function ignoreMissing(err: unknown): void {
  if ((err as { code?: unknown }).code !== 'ENOENT') throw err;
}
