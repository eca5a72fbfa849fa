/**
 * The CLI's speed (DESIGN.md §9: one command ≤ 300 ms wall, what people put in shell loops, like `sbatch`):
 * the wall time of the built `muster` command (bin/muster.js → dist/, what a user runs), each sample a fresh
 * process from spawn to exit, as a shell sees it. Cases, in run order:
 *
 * - `node-ms` (baseline): `node -e 0`, what starting Node at all costs on this machine now.
 * - `version-ms`: `muster --version`. Target ≤ 300 ms.
 * - `jobs-ms`: `muster jobs` (its first page, 100 jobs, as a table) against a local `muster server` holding
 *   100,000 jobs. Target ≤ 500 ms.
 *
 * Samples of the three alternate (node, version, jobs, node, …) so that a change in the machine's load
 * falls on all of them alike. Each output is checked before its sample counts: the version is the
 * package's, the table has its header and 100 rows and says there are more.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createClient } from '../src/client/index.js';
import { keyedJob } from '../test/faults/submitter.js';
import { MusterChild, ROOT } from '../test/server/muster-child.js';
import type { BenchContext } from './lib/index.js';
import { defineBenchmark, median, uncommitted, MUSTER_PROCESS, RUNNER } from './lib/index.js';

/** DESIGN.md §9 and issue 15. */
const TARGET = { versionMs: 300, jobsMs: 500 } as const;

interface Plan {
  readonly samples: number;
  readonly warmup: number;
  readonly jobs: number;
}

const FULL: Plan = { samples: 30, warmup: 3, jobs: 100_000 };
const QUICK: Plan = { samples: 5, warmup: 1, jobs: 10_000 };

const ADMIN_TOKEN = 'bench-cli-admin-token-0123456789';
/** Jobs per submission while filling (the server's default limit is 10,000), and submissions in flight. */
const FILL_BATCH = 5_000;
const FILL_CONCURRENCY = 4;
/** `muster jobs` prints one page: the server's default page size. */
const PAGE = 100;

const MUSTER = join(ROOT, 'bin', 'muster.js');

interface Ran {
  readonly ms: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Spawn to exit of `node ARGS`, in milliseconds; a non-zero status fails the run. */
function timed(args: readonly string[], env: NodeJS.ProcessEnv): Ran {
  const start = performance.now();
  const ran = spawnSync(process.execPath, args, { cwd: ROOT, env, encoding: 'utf8' });
  const ms = performance.now() - start;
  if (ran.status !== 0) throw new Error(`node ${args.join(' ')} exited ${ran.status}: ${ran.stderr}`);
  return { ms, stdout: ran.stdout, stderr: ran.stderr };
}

async function fill(url: string, jobs: number): Promise<void> {
  const client = createClient({ endpoints: url, token: ADMIN_TOKEN, batch: { maxJobs: FILL_BATCH } });
  try {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < jobs) {
        const from = next;
        next = Math.min(jobs, next + FILL_BATCH);
        const results = await client.submit(Array.from({ length: next - from }, (_, k) => keyedJob(`cli-${from + k}`)));
        const refused = results.find((r) => !r.ok);
        if (refused) throw new Error(`filling: a job was refused: ${JSON.stringify(refused)}`);
      }
    };
    await Promise.all(Array.from({ length: FILL_CONCURRENCY }, worker));
  } finally {
    await client.close();
  }
}

function load(): string {
  return loadavg().map((l) => l.toFixed(2)).join(' ');
}

async function run(ctx: BenchContext): Promise<void> {
  const plan = ctx.quick ? QUICK : FULL;
  ctx.config({ ...plan, page: PAGE });
  ctx.env({ code: 'dist (tsc output) through bin/muster.js', uncommittedSources: uncommitted(['src', 'bin']) ?? 'not a checkout', loadAverageAtStart: load() });
  const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

  const root = mkdtempSync(join(tmpdir(), 'muster-bench-cli-'));
  const config = join(root, 'server.yaml');
  writeFileSync(config, `# bench/cli.bench.ts\ntokens:\n  - { token: ${ADMIN_TOKEN}, tenant: default, role: admin }\n`);
  const server = new MusterChild(['server', '--data', join(root, 'data'), '--port', '0', '--config', config], { MUSTER_LOG_LEVEL: 'warn' });
  try {
    const url = (await server.line(/^url: (\S+)$/))[1]!;
    await server.line(/^ready: /);
    const filling = performance.now();
    await fill(url, plan.jobs);
    ctx.log(`filled the server with ${plan.jobs.toLocaleString('en-US')} jobs in ${((performance.now() - filling) / 1000).toFixed(1)} s`);

    const env: NodeJS.ProcessEnv = { ...process.env, MUSTER_SERVER: url, MUSTER_TOKEN: ADMIN_TOKEN };
    const samples = { node: [] as number[], version: [] as number[], jobs: [] as number[] };
    for (let i = -plan.warmup; i < plan.samples; i++) {
      const node = timed(['-e', '0'], env);
      const v = timed([MUSTER, '--version'], env);
      if (v.stdout.trim() !== version) throw new Error(`muster --version printed ${JSON.stringify(v.stdout)}, not ${version}`);
      const jobs = timed([MUSTER, 'jobs'], env);
      const lines = jobs.stdout.trimEnd().split('\n');
      if (!/^ID\s+NAME\s/.test(lines[0] ?? '') || lines.length !== PAGE + 1) throw new Error(`muster jobs printed ${lines.length} lines, not a header and ${PAGE} rows: ${lines.slice(0, 3).join(' / ')}`);
      if (!/^more: muster jobs --after /m.test(jobs.stderr)) throw new Error(`muster jobs did not say there are more: ${jobs.stderr}`);
      if (i < 0) continue;
      samples.node.push(node.ms);
      samples.version.push(v.ms);
      samples.jobs.push(jobs.ms);
    }
    ctx.log(`node -e 0: ${samples.node.map((s) => s.toFixed(0)).join(' ')} ms`);
    ctx.log(`muster --version: ${samples.version.map((s) => s.toFixed(0)).join(' ')} ms`);
    ctx.log(`muster jobs: ${samples.jobs.map((s) => s.toFixed(0)).join(' ')} ms`);
    ctx.log(`target version-ms <= ${TARGET.versionMs}: ${median(samples.version) <= TARGET.versionMs ? 'met' : 'MISSED'}; jobs-ms <= ${TARGET.jobsMs}: ${median(samples.jobs) <= TARGET.jobsMs ? 'met' : 'MISSED'}; load ${load()}`);
    ctx.record({ id: 'node-ms', unit: 'ms', samples: samples.node });
    ctx.record({ id: 'version-ms', unit: 'ms', samples: samples.version, baseline: 'node-ms' });
    ctx.record({ id: 'jobs-ms', unit: 'ms', samples: samples.jobs, baseline: 'node-ms' });
  } finally {
    server.signal('SIGTERM');
    await server.exited;
    rmSync(root, { recursive: true, force: true });
  }
}

export default defineBenchmark({ name: 'cli', measures: [...MUSTER_PROCESS, 'bench/cli.bench.ts', 'test/server/muster-child.ts', 'test/faults/submitter.ts', ...RUNNER], run });
