/**
 * The meta file (`meta.json`): the folder's format version and the newest epoch any opening of the store
 * has taken. `recover()` raises the epoch here, durably, before it hands the epoch out, so an epoch is never
 * handed out twice, not even across a crash.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MusterError } from '../errors/index.js';
import { META_FILE, replaceFileDurably } from './data-folder.js';
import type { OpenFile } from './file-system.js';

/** Version 1: the record layout of record-codec.ts, the snapshot layout of snapshot-file.ts. */
export const STORE_FORMAT = 1;

export interface StoreMeta {
  readonly format: number;
  readonly epoch: number;
}

/** The meta file, or `{ epoch: 0 }` for a folder that has none yet. */
export async function readMeta(dir: string): Promise<StoreMeta> {
  const path = join(dir, META_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return { format: STORE_FORMAT, epoch: 0 };
    throw err;
  }
  let meta: Partial<StoreMeta>;
  try {
    meta = JSON.parse(text) as Partial<StoreMeta>;
  } catch {
    throw new MusterError('MUSTER_ERR_STORE_CORRUPT', `${path} is not JSON (it is only ever replaced atomically, so this is damage)`);
  }
  if (meta.format !== STORE_FORMAT) {
    throw new MusterError('MUSTER_ERR_STORE_CORRUPT', `${path} has format ${String(meta.format)}; this store reads format ${STORE_FORMAT}`);
  }
  if (!Number.isSafeInteger(meta.epoch) || (meta.epoch as number) < 0) {
    throw new MusterError('MUSTER_ERR_STORE_CORRUPT', `${path} has no valid epoch`);
  }
  return { format: STORE_FORMAT, epoch: meta.epoch as number };
}

export async function writeMeta(openFile: OpenFile, dir: string, meta: StoreMeta): Promise<void> {
  await replaceFileDurably(openFile, dir, META_FILE, Buffer.from(JSON.stringify(meta) + '\n'));
}
