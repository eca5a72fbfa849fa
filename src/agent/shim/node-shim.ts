/**
 * The Node.js shim: the same contract as native/shim/shim.c (read that file's header; README "The shim"),
 * for machines where the C shim could not be built. One node process per task, so it costs tens of MiB
 * where the C shim costs one; and it cannot make the task die with it (no PR_SET_PDEATHSIG from Node).
 *
 * usage: node node-shim.js --dir ATTEMPT_DIR --lease LEASE_FILE [--cwd DIR] [--uid UID --gid GID] -- FILE [ARG...]
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { closeSync, fstatSync, readFileSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { decodeEnvironment } from './environment.js';
import { parseLease } from './lease.js';
import type { ShimStatus } from './status.js';
import { formatStatus, STATUS_FILE } from './status.js';

/** As in shim.c: how often the lease is read to see it renewed (at its deadline when that comes sooner). */
const LEASE_POLL_MS = 200;
const CONTROL_FD = 3;
const FORWARDED = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT'] as const;

interface Options {
  readonly dir: string;
  readonly lease: string;
  readonly cwd?: string;
  readonly uid?: number;
  readonly gid?: number;
  readonly file: string;
  readonly args: readonly string[];
}

function usage(why: string): never {
  process.stderr.write(`muster-shim: ${why}\nusage: muster-shim --dir ATTEMPT_DIR --lease LEASE_FILE [--cwd DIR] [--uid UID --gid GID] -- FILE [ARG...]\n`);
  process.exit(2);
}

function parseOptions(argv: readonly string[]): Options {
  const values = new Map<string, string>();
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      i++;
      break;
    }
    const value = argv[i + 1];
    if (!['--dir', '--lease', '--cwd', '--uid', '--gid'].includes(a)) usage('unknown option');
    if (value === undefined) usage('an option is missing its value');
    values.set(a, value);
    i++;
  }
  const id = (flag: string): number | undefined => {
    const v = values.get(flag);
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v)) usage(`${flag} ${v} is not a numeric id`);
    return Number(v);
  };
  const dir = values.get('--dir');
  const lease = values.get('--lease');
  const file = argv[i];
  if (dir === undefined || lease === undefined) usage('--dir and --lease are required');
  if (file === undefined) usage('no command after --');
  const uid = id('--uid');
  const gid = id('--gid');
  if ((uid === undefined) !== (gid === undefined)) usage('--uid and --gid go together');
  const cwd = values.get('--cwd');
  return { dir, lease, file, args: argv.slice(i + 1), ...(cwd !== undefined ? { cwd } : {}), ...(uid !== undefined && gid !== undefined ? { uid, gid } : {}) };
}

function finish(dir: string, status: ShimStatus): never {
  const tmp = join(dir, `${STATUS_FILE}.tmp`);
  try {
    writeFileSync(tmp, formatStatus(status));
    renameSync(tmp, join(dir, STATUS_FILE));
  } catch (err) {
    process.stderr.write(`muster-shim: could not write the status in ${dir}: ${(err as Error).message}\n`);
    process.exit(1);
  }
  process.exit(0);
}

function errnoOf(err: unknown): number {
  const code = (err as { code?: unknown } | null)?.code;
  const n = typeof code === 'string' ? (constants.errno as Record<string, number>)[code] : undefined;
  return n ?? constants.errno.EIO;
}

/** Milliseconds left on the lease (0: it has run out); undefined when there is no fence. */
function leaseLeftMs(path: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const lease = parseLease(text);
  if (lease === undefined) return undefined;
  const left = lease.deadlineNs - process.hrtime.bigint();
  return left <= 0n ? 0 : Math.ceil(Number(left) / 1e6);
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is gone.
  }
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function say(line: string): void {
  try {
    fstatSync(CONTROL_FD);
  } catch {
    return; // no channel: nobody listens
  }
  try {
    writeSync(CONTROL_FD, line);
    closeSync(CONTROL_FD);
  } catch {
    // The agent is gone; the status file will tell its successor.
  }
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  let task: ChildProcess | undefined;
  const pending: NodeJS.Signals[] = [];
  for (const signal of FORWARDED) {
    process.on(signal, () => {
      if (task?.pid !== undefined) signalGroup(task.pid, signal);
      else pending.push(signal);
    });
  }
  const env = decodeEnvironment(await readStdin());
  if (!env) finish(o.dir, { kind: 'aborted', fenced: false });
  if (o.cwd !== undefined && !isDirectory(o.cwd)) finish(o.dir, { kind: 'error', errno: constants.errno.ENOENT, stage: 'chdir', fenced: false });
  try {
    task = spawn(o.file, [...o.args], {
      env,
      stdio: ['ignore', 'inherit', 'inherit'],
      detached: true,
      ...(o.cwd !== undefined ? { cwd: o.cwd } : {}),
      ...(o.uid !== undefined && o.gid !== undefined ? { uid: o.uid, gid: o.gid } : {}),
    });
  } catch (err) {
    finish(o.dir, { kind: 'error', errno: errnoOf(err), stage: 'exec', fenced: false });
  }
  let fenced = false;
  let poll: NodeJS.Timeout | undefined;
  task.once('error', (err) => {
    if (task?.pid === undefined) finish(o.dir, { kind: 'error', errno: errnoOf(err), stage: 'exec', fenced: false });
  });
  task.once('spawn', () => {
    const pid = task!.pid!;
    say(`started ${pid}\n`);
    for (const signal of pending.splice(0)) signalGroup(pid, signal);
    const watch = (): void => {
      const left = leaseLeftMs(o.lease);
      if (left === 0) {
        signalGroup(pid, 'SIGKILL');
        fenced = true;
        return;
      }
      poll = setTimeout(watch, Math.min(LEASE_POLL_MS, left ?? LEASE_POLL_MS));
    };
    watch();
  });
  task.once('exit', (code, signal) => {
    clearTimeout(poll);
    // Whatever the leader left in its group ends with it.
    if (task?.pid !== undefined) signalGroup(task.pid, 'SIGKILL');
    if (code !== null) finish(o.dir, { kind: 'exit', code, fenced });
    finish(o.dir, { kind: 'signal', signal: (signal !== null ? constants.signals[signal] : undefined) ?? constants.signals.SIGKILL, fenced });
  });
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

void main();
