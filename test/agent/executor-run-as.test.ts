// --run-as USER: attempts run with the user's uid, gid and home; the executor refuses to be built when it
// cannot honour it. Running as another user needs root; without it the tests that spawn say so and skip.
import t from 'tap';
import { chmod, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Executor, resolveRunAs } from '../../src/agent/index.js';
import { createLogger } from '../../src/log/index.js';
import { output, run, script, tempFolder } from './executor-fixtures.js';

const isRoot = process.geteuid?.() === 0;
const log = createLogger({ name: 'executor-test', level: 'silent' });

t.test('run-as nobody: the process has its uid, gid and home; its work/ belongs to it', { skip: isRoot ? false : 'needs root: the agent can only run tasks as another user when it runs as root' }, async (t) => {
  const nobody = resolveRunAs('nobody');
  const workDir = await tempFolder(t);
  await chmod(workDir, 0o755); // mkdtemp makes 0700; the task's user must pass through to its work/
  const ex = new Executor({ workDir, graceMs: 500, runAs: 'nobody', log });
  t.teardown(() => ex.shutdown(0));
  const r = run(ex, script('id -u; id -g; echo "$HOME $USER"; touch made-here && echo wrote'));
  t.match(await r.ended, { outcome: 'succeeded' });
  t.equal(await output(ex, r.ref), `${nobody.uid}\n${nobody.gid}\n${nobody.home} nobody\nwrote\n`);
  const work = join(workDir, 'jobs', r.ref.job, String(r.ref.task), '0', 'work');
  t.match(await stat(join(work, 'made-here')), { uid: nobody.uid, gid: nobody.gid }, 'files it makes are its own');
  t.match(await stat(work), { uid: nobody.uid });
});

t.test('run-as refusals are coded errors at construction', async (t) => {
  const workDir = await tempFolder(t);
  if (isRoot) {
    t.throws(() => new Executor({ workDir, runAs: 'muster-no-such-user', log }), { code: 'MUSTER_ERR_INVALID_VALUE', message: /no user named/ });
  }
  // Pretend not to be root: the check is on the effective uid.
  const geteuid = process.geteuid;
  process.geteuid = () => 1000;
  t.teardown(() => {
    if (geteuid) process.geteuid = geteuid;
  });
  t.throws(() => new Executor({ workDir, runAs: 'nobody', log }), { code: 'MUSTER_ERR_USAGE', message: /needs the agent to run as root/ });
});
