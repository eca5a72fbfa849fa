/**
 * The history archive: where `compact()` puts the segments a snapshot covers, so replay can rebuild the
 * whole past. Covered segments are moved (renamed, not copied: they are complete and fsynced) into
 * `history/`, then the oldest archived segments are dropped while the archive holds more than its bound.
 * With a bound of 0 the covered segments are deleted, as before there was an archive.
 *
 * Crash safety: a rename is atomic, so after a crash a segment is in the data folder or in `history/`,
 * never in neither; recovery ignores `history/`, and the reader (history-reader.ts) looks in both places.
 * The archive's folder is fsynced before the data folder, so a name is never lost from both.
 */
import { mkdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { HISTORY_FOLDER, ignoreMissing, listFolder, syncFolder, type FolderEntry } from './data-folder.js';
import type { OpenFile } from './file-system.js';

export interface ArchiveResult {
  /** Covered segments moved into `history/`. */
  readonly archived: number;
  /** Segments deleted: covered ones when there is no archive, else the oldest archived ones over the bound. */
  readonly dropped: number;
}

/** Moves `covered` (segments of `dir`, oldest first) into the archive, then holds it to `historyBytes`. */
export async function archiveSegments(openFile: OpenFile, dir: string, covered: readonly FolderEntry[], historyBytes: number): Promise<ArchiveResult> {
  if (covered.length === 0) return { archived: 0, dropped: 0 };
  if (historyBytes === 0) {
    for (const segment of covered) await unlink(segment.path).catch(ignoreMissing);
    await syncFolder(openFile, dir);
    return { archived: 0, dropped: covered.length };
  }
  const history = join(dir, HISTORY_FOLDER);
  if ((await mkdir(history, { recursive: true })) !== undefined) await syncFolder(openFile, dir);
  for (const segment of covered) await rename(segment.path, join(history, basename(segment.path)));
  await syncFolder(openFile, history);
  await syncFolder(openFile, dir);
  return { archived: covered.length, dropped: await holdToBound(openFile, history, historyBytes) };
}

/** Drops the oldest archived segments while the archive holds more than `bound` bytes; how many went. */
async function holdToBound(openFile: OpenFile, history: string, bound: number): Promise<number> {
  const { segments } = await listFolder(history);
  const sizes = await Promise.all(segments.map(async (s) => (await stat(s.path)).size));
  let total = sizes.reduce((sum, size) => sum + size, 0);
  let dropped = 0;
  while (total > bound && dropped < segments.length) {
    await unlink((segments[dropped] as FolderEntry).path).catch(ignoreMissing);
    total -= sizes[dropped] as number;
    dropped++;
  }
  if (dropped > 0) await syncFolder(openFile, history);
  return dropped;
}
