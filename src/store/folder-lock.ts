/**
 * The folder lock: one open store per data folder (and one agent per work folder), across processes and
 * within one.
 *
 * `LOCK` is created exclusively (`wx`) and holds the owner's pid. Opening a folder whose `LOCK` names a
 * live process (or this process, while it holds the folder) fails with `MUSTER_ERR_STORE_LOCKED`. A `LOCK`
 * naming a dead pid (the owner crashed or was killed), or an empty one (crash between create and write), is
 * stale: it is removed and taken over, with a warning. Limits: a dead owner's pid reused by an unrelated
 * live process keeps the folder locked until that process ends (remove `LOCK` by hand); two processes
 * taking over the same stale lock at the same instant can both succeed (the window is one unlink and one
 * create); the lock means nothing across machines sharing a network file system.
 */
import { readFileSync } from 'node:fs';
import { readFile, realpath, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log/index.js';
import { MusterError } from '../errors/index.js';
import type { ErrorCode } from '../errors/index.js';
import { LOCK_FILE } from './data-folder.js';

/** Folders held by stores open in this process (real paths). */
const heldHere = new Set<string>();

export interface FolderLock {
  readonly path: string;
  release(): Promise<void>;
}

/** Attempts to create the lock; a stale one is taken over at most this often before giving up. */
const TAKEOVER_ATTEMPTS = 3;

/** Who locks: the code a refusal carries and how its messages name the folder (default: a store's data folder). */
export interface LockOwner {
  readonly code: ErrorCode;
  readonly folder: string;
}

const STORE: LockOwner = { code: 'MUSTER_ERR_STORE_LOCKED', folder: 'data folder' };

export async function acquireFolderLock(dir: string, log: Logger, who: LockOwner = STORE): Promise<FolderLock> {
  const key = await realpath(dir);
  const path = join(key, LOCK_FILE);
  if (heldHere.has(key)) {
    throw new MusterError(who.code, `the ${who.folder} ${key} is already open in this process (pid ${process.pid}); close the other user first`);
  }
  for (let attempt = 0; attempt < TAKEOVER_ATTEMPTS; attempt++) {
    try {
      await writeFile(path, `${process.pid}\n`, { flag: 'wx' });
      heldHere.add(key);
      return { path, release: () => release(key, path) };
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'EEXIST') throw err;
    }
    const owner = await readOwner(path);
    if (owner === 'missing') continue; // released between our create and our read: try again
    if (owner !== undefined && owner !== process.pid && isAlive(owner)) {
      throw new MusterError(who.code, `the ${who.folder} ${key} is in use by process ${owner} (lock file ${path}); stop that process, or remove the lock file if that is not muster`);
    }
    log.warn({ lock: path, owner: owner ?? 'unreadable' }, `taking over a stale lock: its owner ${owner === undefined ? 'is unknown' : `(pid ${owner}) is not running`}`);
    await unlink(path).catch(() => undefined);
  }
  throw new MusterError(who.code, `the ${who.folder} ${key} could not be locked after ${TAKEOVER_ATTEMPTS} attempts (lock file ${path})`);
}

async function readOwner(path: string): Promise<number | undefined | 'missing'> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return 'missing';
    throw err;
  }
  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as { code?: unknown }).code === 'EPERM'; // alive, owned by another user
  }
  return !isZombie(pid);
}

/**
 * A process that has exited but not been reaped still answers `kill(pid, 0)`. In a container whose init
 * does not reap, a crashed server stays a zombie for good, and its lock would never be taken over. On
 * Linux, /proc says so (state Z, or X while it goes); elsewhere the process counts as alive.
 */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (command) STATE …: the command may hold spaces and parentheses, so read after the last ')'.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'Z' || state === 'X';
  } catch {
    return false;
  }
}

async function release(key: string, path: string): Promise<void> {
  if (!heldHere.delete(key)) return;
  if ((await readOwner(path)) === process.pid) await unlink(path).catch(() => undefined);
}
