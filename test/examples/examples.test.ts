/**
 * Every file in examples/ either runs on `npm start` as written, and says so in its first comment, or says
 * there what it needs (a cluster, a config file: `# Needs:`, `# Not a job:`). The runnable ones are run here
 * as a user would: `muster start` (the control plane and one local agent, in a child process, on a free
 * port and a fresh data folder), then `muster submit -f FILE` or the script, with the server and the admin
 * token in MUSTER_SERVER and MUSTER_TOKEN; each job must succeed and print what its example says. Every
 * spec file must pass `muster validate`.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createClient } from '../../src/client/index.js';
import type { JobEvent, MusterClient } from '../../src/client/index.js';
import { ROOT } from '../server/muster-child.js';
import { localCluster } from '../cli/local-cluster.js';

const run = promisify(execFile);
const MUSTER = join(ROOT, 'bin', 'muster.js');
const EXAMPLES = join(ROOT, 'examples');
const FILES = readdirSync(EXAMPLES).sort();
const SPEC_FILE = /\.(ya?ml|json)$/;
const RUNNABLE = /^# Runs on `npm start` as written/;
const ELSEWHERE = /^# (Needs:|Not a job:)/;

/** The first comment line (after a `#!` line), which says whether the example runs on `npm start`. */
function firstComment(file: string): string {
  return readFileSync(join(EXAMPLES, file), 'utf8').split('\n').find((line) => line.startsWith('#') && !line.startsWith('#!')) ?? '';
}

const runnable = FILES.filter((f) => RUNNABLE.test(firstComment(f)));

t.test('every example says whether it runs on npm start, or what it needs', async (t) => {
  for (const file of FILES) t.ok(RUNNABLE.test(firstComment(file)) || ELSEWHERE.test(firstComment(file)), `${file}: ${firstComment(file)}`);
  t.same(runnable, ['array-small.yaml', 'chain.sh', 'hello.yaml', 'retry.yaml'], 'the runnable examples');
});

t.test('every example spec file passes muster validate', async (t) => {
  const specs = FILES.filter((f) => SPEC_FILE.test(f)).map((f) => join('examples', f));
  t.ok(specs.length >= 8, 'the spec files are there');
  const { stdout } = await run(process.execPath, [MUSTER, 'validate', ...specs], { cwd: ROOT });
  const ok = stdout.trim().split('\n').filter((l) => l.includes(': ok ('));
  t.same([...new Set(ok.map((l) => l.replace(/(#\d+)?: ok \(.*$/, '')))].sort(), [...specs].sort(), stdout);
});

/** Events of every job, from a watch opened before anything is submitted; waits for a job's end. */
class Events {
  readonly all: JobEvent[] = [];
  readonly #waiters = new Map<string, (e: JobEvent) => void>();

  follow(client: MusterClient): Promise<number> {
    const watch = client.watch({});
    void (async () => {
      for await (const event of watch) {
        this.all.push(event);
        if (event.type === 'ended') this.#waiters.get(event.job)?.(event);
      }
    })();
    return watch.ready;
  }

  ended(job: string): Promise<JobEvent> {
    const seen = this.all.find((e) => e.job === job && e.type === 'ended');
    return seen ? Promise.resolve(seen) : new Promise((resolve) => this.#waiters.set(job, resolve));
  }

  of(job: string, type: JobEvent['type']): JobEvent[] {
    return this.all.filter((e) => e.job === job && e.type === type);
  }
}

t.test('the runnable examples run on muster start and every job succeeds', async (t) => {
  const cluster = await localCluster(t);
  const { url, token } = cluster;
  const env = { ...process.env, ...cluster.env, MUSTER: `${process.execPath} ${MUSTER}` };
  const client = createClient({ endpoints: url, token });
  t.teardown(() => client.close());
  const events = new Events();
  await events.follow(client);
  const text = async (job: string, options: { task?: number; attempt?: number; stream?: 'stdout' | 'stderr' } = {}): Promise<string> => (await client.logs(job, options)).data.toString();

  /** The jobs an example made: `muster submit -f` for a spec file, the script itself otherwise. */
  const submit = async (file: string): Promise<string[]> => {
    if (SPEC_FILE.test(file)) {
      const { stdout } = await run(process.execPath, [MUSTER, 'submit', '-f', join('examples', file), '-o', 'json'], { cwd: ROOT, env });
      return (JSON.parse(stdout) as { results: { ok: boolean; job: string }[] }).results.map((r) => r.job);
    }
    const { stdout } = await run('bash', [join('examples', file)], { cwd: ROOT, env });
    return stdout.trim().split('\n').at(-1)!.split(' ');
  };

  const jobs = new Map<string, string[]>();
  for (const file of runnable) jobs.set(file, await submit(file));
  for (const [file, ids] of jobs) {
    t.ok(ids.length > 0 && ids.every((id) => /^j-\d+$/.test(id)), `${file}: submitted ${ids.join(', ')}`);
    for (const id of ids) {
      const end = await events.ended(id);
      t.equal(end.type === 'ended' && end.outcome, 'succeeded', `${file}: ${id} succeeded${end.type === 'ended' && end.reason ? ` (${end.reason})` : ''}`);
    }
  }

  const [hello] = jobs.get('hello.yaml')!;
  t.equal(await text(hello!), 'hello from muster\n', 'hello.yaml prints its greeting');

  const [array] = jobs.get('array-small.yaml')!;
  for (let i = 0; i < 4; i++) t.equal(await text(array!, { task: i }), `element ${i} of 4\n`, `array-small.yaml: copy ${i} prints its index`);

  const [retry] = jobs.get('retry.yaml')!;
  const view = await client.job(retry!);
  t.match(view.taskList[0], { attempt: 2, failures: 1, state: 'succeeded' }, 'retry.yaml: the first attempt failed, the retry succeeded');
  t.equal(await text(retry!, { attempt: 1, stream: 'stderr' }), 'attempt 1 fails on purpose\n');
  t.equal(await text(retry!, { attempt: 2 }), 'attempt 2 succeeds\n');
  t.match(events.of(retry!, 'task-ended')[0], { attempt: 1, outcome: 'failed', exitCode: 3 });

  const chain = jobs.get('chain.sh')!;
  t.equal(chain.length, 3, 'chain.sh: three jobs');
  t.equal(await text(chain[0]!), 'step 1: fetch\n');
  for (let i = 1; i < chain.length; i++) {
    const before = (await events.ended(chain[i - 1]!)).seq;
    const started = events.of(chain[i]!, 'started');
    t.ok(started.length === 1 && started[0]!.seq > before, `chain.sh: ${chain[i]} started after ${chain[i - 1]} ended`);
    t.match(await text(chain[i]!), `after ${chain[i - 1]}`);
  }
});
