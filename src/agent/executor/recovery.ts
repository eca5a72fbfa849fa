/**
 * Recovery: what a restarted agent makes of each journal entry its predecessor left (journal.ts), before
 * it connects. One decision per entry:
 *
 *   the entry has an end ─────────────────────────────▶ report it (`ended`), or forget it if nobody wants it
 *   its shim still runs (pid and /proc start time) ───▶ adopt it: the attempt runs on, watched from now on
 *   its shim is gone, its status file is there ───────▶ the end the status says
 *   its shim is gone and left no status ──────────────▶ `lost` (how it ended cannot be known); what is left
 *                                                        of its task is killed first: nobody supervises it
 *
 * An entry without a shim (the agent stopped between journaling the launch and recording the spawn) has
 * its shim looked for by the attempt folder on the command lines of /proc.
 */
import type { AttemptRef } from '../../scheduler/index.js';
import type { ProcessIdentity, ProcessStat } from '../shim/index.js';
import { allProcesses, commandLine, killOrphanedTask, readStatus, stillRuns } from '../shim/index.js';
import type { JournalEntry } from './journal.js';
import type { ProcessEnd } from './outcome.js';
import { supervisedOutcome } from './outcome.js';

export type Recovered =
  /** Its end goes to the server (journaled with it). */
  | { readonly kind: 'ended'; readonly entry: JournalEntry; readonly end: ProcessEnd }
  /** Its shim runs: the attempt is live again. `pgid` when known (from the journal, or the shim's child). */
  | { readonly kind: 'adopt'; readonly entry: JournalEntry; readonly shim: ProcessIdentity; readonly pgid: number | undefined }
  /** Ended, and reported to nobody (a reconciliation kill): its entry goes. */
  | { readonly kind: 'forget'; readonly entry: JournalEntry };

/**
 * Decides for one entry. `dir` is its attempt folder; `processes` reads /proc once, when first needed;
 * `orphans` is told how many leftover processes of a dead shim's task were killed.
 */
export async function recoverEntry(entry: JournalEntry, dir: string, processes: () => Promise<readonly ProcessStat[]>, orphans: (ref: AttemptRef, killed: number) => void): Promise<Recovered> {
  if (entry.end) return entry.stop?.silent ? { kind: 'forget', entry } : { kind: 'ended', entry, end: entry.end };
  const shim = entry.shim ?? (await findShim(dir, await processes()));
  if (shim && (await stillRuns(shim))) {
    return { kind: 'adopt', entry, shim, pgid: entry.pgid ?? (await processes()).find((p) => p.ppid === shim.pid)?.pid };
  }
  const status = await readStatus(dir);
  if (!status && shim) orphans(entry, await killOrphanedTask(shim, entry.pgid));
  if (entry.stop?.silent) return { kind: 'forget', entry };
  return { kind: 'ended', entry, end: supervisedOutcome(status, entry.stop, entry.command) };
}

/** A /proc reader that walks /proc at most once. */
export function processesOnce(): () => Promise<readonly ProcessStat[]> {
  let walk: Promise<ProcessStat[]> | undefined;
  return () => (walk ??= allProcesses());
}

/** A live shim whose command line names this attempt folder (`--dir DIR`), if any. */
async function findShim(dir: string, processes: readonly ProcessStat[]): Promise<ProcessIdentity | undefined> {
  for (const p of processes) {
    const argv = await commandLine(p.pid);
    const at = argv?.indexOf('--dir') ?? -1;
    if (argv && at >= 0 && argv[at + 1] === dir) return { pid: p.pid, startTime: p.startTime };
  }
  return undefined;
}
