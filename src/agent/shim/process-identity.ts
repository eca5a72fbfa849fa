/**
 * Which process a pid is, from /proc/PID/stat (Linux): a pid is reused once its process is gone, so a shim
 * recorded in the journal is "the same process" only when the pid's start time (field 22, clock ticks
 * after boot) matches the one recorded. A zombie (exited, not reaped: a shim whose agent died is reparented
 * to an init that may never reap it) counts as ended.
 */
import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';

/** A process as the journal records it. */
export interface ProcessIdentity {
  readonly pid: number;
  /** Field 22 of /proc/PID/stat, as written there. */
  readonly startTime: string;
}

export interface ProcessStat {
  readonly pid: number;
  /** R, S, D, T, Z, X, … */
  readonly state: string;
  readonly ppid: number;
  readonly pgrp: number;
  /** The session id: a shim leads its own session, and its task stays in it. */
  readonly session: number;
  readonly startTime: string;
}

/** Parses /proc/PID/stat: the command name (field 2) is in parentheses and may hold spaces and ')'. */
export function parseStat(pid: number, text: string): ProcessStat | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  // Fields from 3 on: state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime
  // cutime cstime priority nice num_threads itrealvalue starttime …
  const fields = text.slice(close + 2).split(' ');
  const state = fields[0];
  const startTime = fields[19];
  if (state === undefined || startTime === undefined) return undefined;
  return { pid, state, ppid: Number(fields[1]), pgrp: Number(fields[2]), session: Number(fields[3]), startTime };
}

export function readStatSync(pid: number): ProcessStat | undefined {
  try {
    return parseStat(pid, readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

export async function readStat(pid: number): Promise<ProcessStat | undefined> {
  try {
    return parseStat(pid, await readFile(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The identity of a live process, or undefined when it is gone (or a zombie). */
export function identify(pid: number): ProcessIdentity | undefined {
  const stat = readStatSync(pid);
  return stat && !ended(stat) ? { pid, startTime: stat.startTime } : undefined;
}

/** Whether the process recorded as `identity` still runs (same pid, same start time, not a zombie). */
export async function stillRuns(identity: ProcessIdentity): Promise<boolean> {
  const stat = await readStat(identity.pid);
  return stat !== undefined && stat.startTime === identity.startTime && !ended(stat);
}

function ended(stat: ProcessStat): boolean {
  return stat.state === 'Z' || stat.state === 'X';
}

/** Every live process of the machine (recovery only: a walk of /proc). */
export async function allProcesses(): Promise<ProcessStat[]> {
  let names: string[];
  try {
    names = await readdir('/proc');
  } catch {
    return [];
  }
  const stats = await Promise.all(names.filter((n) => /^\d+$/.test(n)).map((n) => readStat(Number(n))));
  return stats.filter((s): s is ProcessStat => s !== undefined && !ended(s));
}

/** A process's command line (argv), or undefined when it is gone. */
export async function commandLine(pid: number): Promise<string[] | undefined> {
  try {
    const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').slice(0, -1);
  } catch {
    return undefined;
  }
}

/**
 * Kills what is left of a task whose shim died without recording its end (killed itself: nobody supervises
 * the task any more, and its attempt is reported lost, so it must not run on). The task's processes are
 * those in its group (when known) and in the shim's session (the native shim leads one and its task stays
 * in it) or in the task's own session (the Node.js shim's task leads one: Node's `detached` is setsid).
 * Nothing is killed when the shim's pid is in use again: then the session id may be another's. Returns how
 * many processes were killed.
 */
export async function killOrphanedTask(shim: ProcessIdentity, pgid: number | undefined): Promise<number> {
  const processes = await allProcesses();
  if (processes.some((p) => p.pid === shim.pid)) return 0;
  const orphaned = (p: ProcessStat): boolean => (pgid === undefined ? p.session === shim.pid : p.pgrp === pgid && (p.session === shim.pid || p.session === pgid));
  let killed = 0;
  for (const p of processes) {
    if (!orphaned(p)) continue;
    try {
      process.kill(p.pid, 'SIGKILL');
      killed++;
    } catch {
      // gone meanwhile
    }
  }
  return killed;
}
