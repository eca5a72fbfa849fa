#!/usr/bin/env node
// `npm run bench -- NAME [--quick]`: runs bench/NAME.bench.ts in a fresh process.
// `npm run bench [-- --quick]`: runs every benchmark, each in its own fresh process, one after another.
// `npm run bench -- NAME --profile`: the same with V8's CPU profiler on in this run's process and in every Node
//   process and thread it starts (a preload in NODE_OPTIONS, which children inherit), into bench/profiles/NAME/, then a flame graph
//   page per profile and an index.html there (see bench/README.md).
// `npm run bench -- report`: bench/report/index.html, plots of the results and the history.
//
// Each benchmark runs in a process group of its own, with everything it starts (servers, etcd members, fleets,
// load generators): a SIGINT, SIGTERM or SIGHUP to this script is passed to the whole group (SIGKILL 10 s
// later), so an interrupted run leaves nothing running; and a process still in the group once the benchmark
// has exited is a leak: it is named, killed, and the run fails. Its temporary files go to a scratch folder of
// its own (TMPDIR, which os.tmpdir() and so every mkdtemp of the run and of its children follow), removed
// once the group is gone: an interrupted run leaves no etcd data or server folders behind either.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flags = args.filter((a) => a.startsWith('--'));
const names = args.filter((a) => !a.startsWith('--'));
const all = readdirSync(join(root, 'bench')).filter((f) => f.endsWith('.bench.ts')).map((f) => f.slice(0, -'.bench.ts'.length)).sort();
const tsx = (script, scriptArgs, env = process.env) =>
  spawnSync(process.execPath, ['--import=tsx', join(root, script), ...scriptArgs], { cwd: root, stdio: 'inherit', env }).status;

if (names[0] === 'report') {
  process.exit(tsx('scripts/bench/report.ts', args.slice(1)) === 0 ? 0 : 1);
}

const profile = flags.includes('--profile');
/** What a profiled run's processes inherit: each writes its CPU profiles into `dir` (bench/lib/profile-preload.cjs). */
function profiledEnv(dir) {
  const options = [process.env.NODE_OPTIONS ?? '', `--require="${join(root, 'bench', 'lib', 'profile-preload.cjs')}"`];
  return { ...process.env, NODE_OPTIONS: options.join(' ').trim(), MUSTER_BENCH_PROFILE_DIR: dir };
}

let failed = 0;
for (const name of names.length ? names : all) {
  const dir = join(root, 'bench', 'profiles', name);
  if (profile) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
  }
  const status = await runAsGroup(name, ['--import=tsx', '--expose-gc', join(root, 'bench', 'run.ts'), name, ...flags], profile ? profiledEnv(dir) : process.env);
  if (status !== 0) {
    console.error(`bench: ${name} failed (status ${status})`);
    failed++;
  }
  // The flame graphs are made even after a failed run: its profiles are what shows why it failed.
  if (profile && tsx('scripts/bench/flames.ts', [dir, `bench ${name}: CPU profiles`]) !== 0) failed++;
}
process.exit(failed ? 1 : 0);

/** Runs Node with `nodeArgs` as the leader of a new process group; resolves with its status (see the header). */
async function runAsGroup(name, nodeArgs, env) {
  const scratch = mkdtempSync(join(tmpdir(), `muster-bench-${name}-`));
  const child = spawn(process.execPath, nodeArgs, { cwd: root, stdio: 'inherit', env: { ...env, TMPDIR: scratch }, detached: true });
  const group = child.pid;
  const signalGroup = (signal) => {
    try {
      process.kill(-group, signal);
    } catch {
      // The group is empty already.
    }
  };
  let interrupted;
  const onSignal = (signal) => {
    interrupted ??= signal;
    console.error(`bench: ${signal}: stopping ${name} and everything it started`);
    signalGroup(signal);
    setTimeout(() => signalGroup('SIGKILL'), 10_000).unref();
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const signal of signals) process.on(signal, onSignal);
  const status = await new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1))));
  let left = await leftInGroup(group);
  if (left.length > 0) {
    console.error(`bench: ${name} left ${left.length} process(es) running in its group: ${left.join('; ')}; killing them`);
    signalGroup('SIGKILL');
    left = await leftInGroup(group);
    if (left.length > 0) console.error(`bench: still running after SIGKILL: ${left.join('; ')}`);
  }
  for (const signal of signals) process.off(signal, onSignal);
  // Caches by design, not leaks: tsx's compiled modules and the actors' worker bootstraps (src/actors/runtime-files.ts).
  const leftFiles = readdirSync(scratch).filter((entry) => !/^(tsx-\d+|muster-workers)$/.test(entry));
  if (leftFiles.length > 0 && !interrupted) console.error(`bench: ${name} left ${leftFiles.length} temporary entr${leftFiles.length === 1 ? 'y' : 'ies'} (${leftFiles.slice(0, 5).join(', ')}); removing them`);
  rmSync(scratch, { recursive: true, force: true });
  if (interrupted) process.exit(130);
  return left.length > 0 && status === 0 ? 1 : status;
}

/** Live processes of process group `group` (`PID COMMAND`), waiting up to 5 s for exiting ones to go. */
async function leftInGroup(group) {
  for (let waited = 0; ; waited += 100) {
    const left = groupMembers(group);
    if (left.length === 0 || waited >= 5_000) return left;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** From /proc: processes whose group is `group`, zombies aside (empty where there is no /proc). */
function groupMembers(group) {
  let pids;
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return [];
  }
  const found = [];
  for (const pid of pids) {
    let stat;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid pgrp …: comm may hold spaces and parentheses, so read after the last ')'.
    const close = stat.lastIndexOf(')');
    const [state, , pgrp] = stat.slice(close + 2).split(' ');
    if (Number(pgrp) === group && state !== 'Z') found.push(`${pid} ${stat.slice(stat.indexOf('(') + 1, close)}`);
  }
  return found;
}
