/**
 * When a queue may be deleted (`muster queue delete`), and what its deletion takes with it. A queue goes
 * only when nothing in the live state still needs it: no job of it that has not ended (pending, held or
 * running), no ended job of it with an attempt still being stopped or that a job still waiting depends on,
 * and no child queue (`acme/ml/train` under `acme/ml`) that is not deleted with it. Its other ended jobs
 * are retired with it (their records are read back from the history, as retention's are), so no job in
 * the live state, a snapshot or a recovery ever names a queue that is gone.
 *
 * Every problem of a request is found at once, each under the path of the name it is about
 * (`queues[i]`); a request with any problem deletes nothing.
 */
import type { Problem } from '../model/index.js';
import type { QueueEntry } from './event-router.js';
import type { JobDirectory } from './job-directory.js';
import type { LiveAttempts } from './live-attempts.js';

/** Most child queues or jobs one problem names (the count says how many there are in all). */
export const MAX_NAMED_IN_PROBLEM = 5;

export interface QueueDeletion {
  readonly problems: readonly Problem[];
  /** The ended jobs of the deleted queues, to retire with them. */
  readonly retire: readonly string[];
}

/** What the deletion needs to know, from the event router. */
export interface DeletionView {
  readonly queues: ReadonlyMap<string, QueueEntry>;
  readonly directory: JobDirectory;
  readonly live: LiveAttempts;
}

interface JobCounts {
  notEnded: number;
  stopping: number;
  awaited: string[];
}

export function queueDeletion(view: DeletionView, names: readonly string[]): QueueDeletion {
  const problems: Problem[] = [];
  const index = new Map<string, number>();
  names.forEach((name, i) => {
    const first = index.get(name);
    if (first !== undefined) problems.push({ path: `queues[${i}]`, code: 'MUSTER_ERR_INVALID_VALUE', message: `queue ${name} is also queues[${first}]` });
    else index.set(name, i);
  });
  for (const [name, i] of index) {
    if (!view.queues.has(name)) {
      problems.push({ path: `queues[${i}]`, code: 'MUSTER_ERR_UNKNOWN_QUEUE', message: `queue ${name} does not exist` });
      continue;
    }
    const kept = [...view.queues.keys()].filter((other) => other.startsWith(`${name}/`) && !index.has(other)).sort();
    if (kept.length > 0) {
      problems.push({ path: `queues[${i}]`, code: 'MUSTER_ERR_CONFLICT', message: `queue ${name} has ${kept.length} child queue${kept.length === 1 ? '' : 's'} (${named(kept)}): delete ${kept.length === 1 ? 'it' : 'them'} in the same request, or first` });
    }
  }
  const { counts, retire } = countJobs(view, index);
  for (const [name, c] of counts) {
    const path = `queues[${index.get(name)!}]`;
    if (c.notEnded > 0) problems.push({ path, code: 'MUSTER_ERR_CONFLICT', message: `queue ${name} has ${c.notEnded} job${c.notEnded === 1 ? '' : 's'} that ha${c.notEnded === 1 ? 's' : 've'} not ended (pending, held or running): cancel them or let them end first` });
    if (c.stopping > 0) problems.push({ path, code: 'MUSTER_ERR_CONFLICT', message: `queue ${name} has ${c.stopping} ended job${c.stopping === 1 ? '' : 's'} with attempts still being stopped: try again once they have stopped` });
    if (c.awaited.length > 0) problems.push({ path, code: 'MUSTER_ERR_CONFLICT', message: `queue ${name} has ${c.awaited.length} ended job${c.awaited.length === 1 ? '' : 's'} (${named(c.awaited)}) that jobs still waiting depend on` });
  }
  // In the request's order (a stable sort keeps a name's own problems in the order above).
  problems.sort((a, b) => position(a.path) - position(b.path));
  return { problems, retire: problems.length > 0 ? [] : retire };
}

/** One pass over the live jobs: the jobs of the named queues that keep them, and the ended ones to retire. */
function countJobs(view: DeletionView, index: ReadonlyMap<string, number>): { counts: Map<string, JobCounts>; retire: string[] } {
  const stopping = new Set<string>();
  for (const a of view.live.values()) stopping.add(a.job);
  const counts = new Map<string, JobCounts>();
  const retire: string[] = [];
  for (const [id, entry] of view.directory.entries()) {
    if (!index.has(entry.queue) || !view.queues.has(entry.queue)) continue;
    let c = counts.get(entry.queue);
    if (!c) counts.set(entry.queue, (c = { notEnded: 0, stopping: 0, awaited: [] }));
    if (entry.outcome === undefined) c.notEnded++;
    else if (stopping.has(id)) c.stopping++;
    else if (view.directory.awaited(id)) c.awaited.push(id);
    else retire.push(id);
  }
  return { counts, retire };
}

function named(list: readonly string[]): string {
  return list.length > MAX_NAMED_IN_PROBLEM ? `${list.slice(0, MAX_NAMED_IN_PROBLEM).join(', ')}, …` : list.join(', ');
}

function position(path: string): number {
  return Number(path.slice('queues['.length, -1));
}
