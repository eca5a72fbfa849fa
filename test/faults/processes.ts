/**
 * What /proc (Linux) says about the processes a fault run started: whether one is alive, stopped or a
 * zombie, and which live processes name a folder. A run puts everything it starts under one scratch
 * folder (the server's data folder, the agents' work folders, the tasks' marker folder, passed to the tasks
 * in their environment), so "no process is left behind" is "no live process whose command line or
 * environment names that folder". Nothing here kills by name: callers end only pids they found this way.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** A process's state letter (`R`, `S`, `T` stopped, `Z` zombie, …); undefined when there is no such process. */
export function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces or parentheses: the state follows the last `) `.
    return stat.slice(stat.lastIndexOf(') ') + 2, stat.lastIndexOf(') ') + 3);
  } catch {
    return undefined;
  }
}

/**
 * Whether the process is gone. A zombie counts as gone: it runs nothing, holds no file or lock, and this
 * container's init does not reap the orphans it inherits, so zombies stay.
 */
export function processGone(pid: number): boolean {
  const state = processState(pid);
  return state === undefined || state === 'Z';
}

/** A live process that names the folder, with what it runs (for the report of a failure). */
export interface NamedProcess {
  readonly pid: number;
  readonly command: string;
  /** Where the folder appeared: `cmdline` or `environ`. */
  readonly in: 'cmdline' | 'environ';
}

function readProc(pid: string, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'latin1');
  } catch {
    return undefined; // gone meanwhile, or not ours to read
  }
}

/** Every live process, other than this one, whose command line or environment names `folder`. */
export function processesNaming(folder: string): NamedProcess[] {
  const found: NamedProcess[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    if (processGone(Number(name))) continue;
    const cmdline = readProc(name, 'cmdline');
    if (cmdline === undefined) continue;
    const command = cmdline.split('\0').join(' ').trim().slice(0, 200);
    if (cmdline.includes(folder)) found.push({ pid: Number(name), command, in: 'cmdline' });
    else if (readProc(name, 'environ')?.includes(folder)) found.push({ pid: Number(name), command, in: 'environ' });
  }
  return found;
}

/**
 * What still names `folder` once the run is over: waits up to `deadlineMs` for every such process to be
 * gone (processes in their last steps may take a moment), then returns those that are not and SIGKILLs
 * them, by pid (SIGCONT first, in case one is stopped), so that a failed run leaves nothing behind either.
 */
export async function leftoversOf(folder: string, deadlineMs: number): Promise<NamedProcess[]> {
  const deadline = Date.now() + deadlineMs;
  let left = processesNaming(folder);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    left = processesNaming(folder);
  }
  for (const p of left) {
    try {
      process.kill(p.pid, 'SIGCONT');
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  return left;
}
