/**
 * The shim contract (native/shim/shim.c's header, src/agent/README.md "The shim"), run against every shim
 * this machine has: the native one when it was built, and the Node.js one always (as test/placement runs
 * every backend). Real processes, real files; every process a case makes is checked gone at its end.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { resolveRunAs } from '../../src/agent/index.js';
import type { Shim, ShimStatus } from '../../src/agent/shim/index.js';
import { formatLease, NATIVE_SHIM_PATH, readStatus, selectShim, spawnShim } from '../../src/agent/shim/index.js';
import { processGone, until } from './executor-fixtures.js';

const shims: Shim[] = [selectShim('node')];
try {
  shims.unshift(selectShim('native'));
} catch {
  t.comment(`the native shim is not built (${NATIVE_SHIM_PATH}): testing the Node.js shim only`);
}

interface Ran {
  readonly status: ShimStatus | undefined;
  readonly pgid: number | undefined;
  readonly shimPid: number;
  readonly stdout: string;
  readonly stderr: string;
}

interface Case {
  readonly dir: string;
  readonly lease: string;
}

async function attemptFolder(t: Test): Promise<Case> {
  const dir = await mkdtemp(join(tmpdir(), 'muster-shim-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return { dir, lease: join(dir, 'lease') };
}

/** Runs `file args` under `shim` to its end; `during` runs once the task has started. */
async function runUnder(t: Test, shim: Shim, file: string, args: string[], extra: { env?: Record<string, string>; cwd?: string; runAs?: { uid: number; gid: number }; during?: (shimPid: number, pgid: number) => unknown } = {}): Promise<Ran> {
  const { dir, lease } = await attemptFolder(t);
  const out = await open(join(dir, 'stdout'), 'w');
  const err = await open(join(dir, 'stderr'), 'w');
  let pgid: number | undefined;
  const closed = new Promise<number>((resolve, reject) => {
    const child = spawnShim(
      shim,
      { dir, lease, cwd: extra.cwd ?? dir, file, args, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...extra.env }, stdout: out.fd, stderr: err.fd, ...(extra.runAs ? { runAs: extra.runAs } : {}) },
      {
        started: (id) => {
          pgid = id;
          void Promise.resolve(extra.during?.(child.pid!, id)).catch(reject);
        },
        closed: () => resolve(child.pid!),
        failed: reject,
      },
    );
  });
  await Promise.all([out.close(), err.close()]);
  const shimPid = await closed;
  return { status: await readStatus(dir), pgid, shimPid, stdout: await readFile(join(dir, 'stdout'), 'utf8'), stderr: await readFile(join(dir, 'stderr'), 'utf8') };
}

const isRoot = process.geteuid?.() === 0;

for (const shim of shims) {
  t.test(`${shim.kind} shim`, async (t) => {
    t.test('records the exit code; the task gets the environment given (not the agent\'s), the log files, and its own group', async (t) => {
      process.env['MUSTER_SHIM_TEST_SECRET'] = 'agent-only';
      t.teardown(() => delete process.env['MUSTER_SHIM_TEST_SECRET']);
      const r = await runUnder(t, shim, 'sh', ['-c', 'echo "$GREETING $(ps -o pgid= -p $$ | tr -d " ")"; echo oops >&2; echo "[$MUSTER_SHIM_TEST_SECRET]"; exit 3'], { env: { GREETING: 'hello world' } });
      t.same(r.status, { kind: 'exit', code: 3, fenced: false });
      t.ok(r.pgid !== undefined && r.pgid > 0, `started with the task's group id (${r.pgid})`);
      t.equal(r.stdout, `hello world ${r.pgid}\n[]\n`, 'its output, its own process group, nothing of the agent\'s environment');
      t.equal(r.stderr, 'oops\n');
      t.ok(processGone(r.shimPid) && processGone(r.pgid!), 'shim and task are gone');
    });

    t.test('records the signal the task died of', async (t) => {
      const r = await runUnder(t, shim, 'sh', ['-c', 'kill -SEGV $$']);
      t.same(r.status, { kind: 'signal', signal: constants.signals.SIGSEGV, fenced: false });
    });

    t.test('a task that cannot start: errno and stage, no started', async (t) => {
      const missing = await runUnder(t, shim, 'muster-no-such-command', []);
      t.same(missing.status, { kind: 'error', errno: constants.errno.ENOENT, stage: 'exec', fenced: false });
      t.equal(missing.pgid, undefined, 'never said started');
      const folder = await attemptFolder(t);
      const notExecutable = await runUnder(t, shim, folder.dir, []);
      t.same(notExecutable.status, { kind: 'error', errno: constants.errno.EACCES, stage: 'exec', fenced: false });
      const noCwd = await runUnder(t, shim, 'true', [], { cwd: join(folder.dir, 'missing') });
      t.same(noCwd.status, { kind: 'error', errno: constants.errno.ENOENT, stage: 'chdir', fenced: false });
    });

    t.test('what the leader leaves in its group is killed when it exits', async (t) => {
      const r = await runUnder(t, shim, 'sh', ['-c', 'sleep 30 & echo $!']);
      t.same(r.status, { kind: 'exit', code: 0, fenced: false });
      const orphan = Number(r.stdout.trim());
      await until('the background sleep to be gone', () => processGone(orphan), 5_000);
      t.pass(`the background sleep ${orphan} is gone`);
    });

    t.test('SIGTERM to the shim goes to the task group; the shim stays to record the end', async (t) => {
      const r = await runUnder(t, shim, 'sh', ['-c', 'trap "exit 5" TERM; while :; do sleep 0.05; done'], {
        during: async (shimPid, pgid) => {
          await until('the trap to be set', async () => (await readFile(`/proc/${pgid}/cmdline`, 'utf8').catch(() => '')).includes('sh'));
          process.kill(shimPid, 'SIGTERM');
        },
      });
      t.same(r.status, { kind: 'exit', code: 5, fenced: false }, 'the task saw TERM and exited its own way');
    });

    t.test('the fence: once the lease has run out, the task group is killed and the status says fenced', async (t) => {
      const { dir, lease } = await attemptFolder(t);
      // A lease 300 ms from now on CLOCK_MONOTONIC, the clock process.hrtime reads.
      await writeFile(lease, formatLease({ deadlineNs: process.hrtime.bigint() + 300_000_000n, fenceMs: 300 }));
      const out = await open(join(dir, 'stdout'), 'w');
      let pgid = 0;
      const from = Date.now();
      const shimPid = await new Promise<number>((resolve, reject) => {
        const child = spawnShim(shim, { dir, lease, cwd: dir, file: 'sh', args: ['-c', 'sleep 30 & sleep 30'], env: { PATH: process.env['PATH']! }, stdout: out.fd, stderr: out.fd }, { started: (id) => (pgid = id), closed: () => resolve(child.pid!), failed: reject });
      });
      await out.close();
      const took = Date.now() - from;
      t.same(await readStatus(dir), { kind: 'signal', signal: constants.signals.SIGKILL, fenced: true });
      t.ok(took >= 250 && took < 5_000, `killed at the fence, not before (${took} ms)`);
      t.ok(processGone(shimPid) && processGone(pgid), 'nothing of the task is left');
    });

    t.test('no fence: a lease of "none" (or none at all) never kills', async (t) => {
      const { dir, lease } = await attemptFolder(t);
      await writeFile(lease, formatLease(undefined));
      const out = await open(join(dir, 'stdout'), 'w');
      await new Promise<void>((resolve, reject) => {
        spawnShim(shim, { dir, lease, cwd: dir, file: 'sleep', args: ['0.5'], env: { PATH: process.env['PATH']! }, stdout: out.fd, stderr: out.fd }, { started: () => undefined, closed: resolve, failed: reject });
      });
      await out.close();
      t.same(await readStatus(dir), { kind: 'exit', code: 0, fenced: false });
    });

    t.test('a launch cut short (stdin closed before the closing entry) runs nothing: aborted', async (t) => {
      const { dir, lease } = await attemptFolder(t);
      const marker = join(dir, 'ran');
      const child = spawn(shim.command, [...shim.prefix, '--dir', dir, '--lease', lease, '--', 'touch', marker], { env: {}, stdio: ['pipe', 'ignore', 'inherit'] });
      child.stdin.end('PATH=/usr/bin:/bin\0');
      await new Promise((resolve) => child.once('close', resolve));
      t.same(await readStatus(dir), { kind: 'aborted', fenced: false });
      t.notOk(await readFile(marker).then(() => true, () => false), 'the task never ran');
    });

    t.test('--uid/--gid run the task as that user with no supplementary groups', { skip: isRoot ? false : 'needs root' }, async (t) => {
      const nobody = resolveRunAs('nobody');
      const r = await runUnder(t, shim, 'sh', ['-c', 'id -u; id -g; id -G'], { runAs: { uid: nobody.uid, gid: nobody.gid }, cwd: '/' });
      t.same(r.status, { kind: 'exit', code: 0, fenced: false });
      t.equal(r.stdout, `${nobody.uid}\n${nobody.gid}\n${nobody.gid}\n`);
    });
  });
}
