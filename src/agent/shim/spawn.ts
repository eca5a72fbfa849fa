/**
 * Launching one attempt under a shim: the agent's side of the contract (shim.c's header).
 *
 *   agent ──spawn (detached: its own session)──▶ shim ──fork, setpgid, exec──▶ task
 *     stdin:  the task's environment (environment.ts), then closed
 *     fd 1/2: the attempt's log files (the task inherits them from the shim)
 *     fd 3:   "started PGID\n" back from the shim once the task runs
 *   on exit the shim leaves ATTEMPT/status (status.ts); the agent hears the shim close and reads it.
 *
 * The shim is the agent's child only until the agent restarts: an attempt adopted by a later agent is
 * watched through /proc and its status file instead (see the executor's recovery).
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { MusterError } from '../../errors/index.js';
import { encodeEnvironment } from './environment.js';
import type { Shim } from './select.js';

export interface ShimLaunch {
  /** The attempt's folder: the shim writes its status there. */
  readonly dir: string;
  /** The agent's lease file. */
  readonly lease: string;
  /** The task's working directory. */
  readonly cwd: string;
  readonly runAs?: { readonly uid: number; readonly gid: number };
  /** The program (looked up on the task's PATH) and its arguments. */
  readonly file: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Descriptors of the attempt's log files. */
  readonly stdout: number;
  readonly stderr: number;
}

export interface ShimEvents {
  /** The task runs: its pid, which is also its process group's id. */
  started(pgid: number): void;
  /** The shim has exited and every pipe to it is closed: its status file is final. */
  closed(): void;
  /** The shim could not be spawned at all (no `closed` follows). */
  failed(err: Error): void;
}

/**
 * Spawns a shim for a task and returns it as a child process. Throws when the arguments or environment
 * cannot be passed to a process (a NUL byte): `MUSTER_ERR_INVALID_VALUE`, or Node's own error.
 */
export function spawnShim(shim: Shim, launch: ShimLaunch, events: ShimEvents): ChildProcess {
  const env = encodeEnvironment(launch.env);
  if (!env) throw new MusterError('MUSTER_ERR_INVALID_VALUE', 'the environment holds a NUL byte, an empty key or a key with "="');
  const options = ['--dir', launch.dir, '--lease', launch.lease, '--cwd', launch.cwd];
  if (launch.runAs) options.push('--uid', String(launch.runAs.uid), '--gid', String(launch.runAs.gid));
  const child = spawn(shim.command, [...shim.prefix, ...options, '--', launch.file, ...launch.args], {
    // The shim's own environment is empty: the task's arrives on stdin.
    env: {},
    stdio: ['pipe', launch.stdout, launch.stderr, 'pipe'],
    detached: true,
  });
  let spawned = false;
  child.once('spawn', () => (spawned = true));
  child.once('error', (err) => {
    if (!spawned) events.failed(err);
  });
  child.once('close', () => {
    if (spawned) events.closed();
  });
  // The shim may be gone before it read everything (it was killed): nothing to do about a broken pipe here.
  child.stdin?.on('error', () => undefined);
  child.stdin?.end(env);
  const control = child.stdio[3] as Readable | null;
  let said = '';
  control?.setEncoding('utf8');
  control?.on('error', () => undefined);
  control?.on('data', (chunk: string) => {
    said += chunk;
    const match = /^started (\d+)\n/.exec(said);
    if (match) events.started(Number(match[1]));
  });
  return child;
}
