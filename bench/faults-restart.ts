/**
 * Restart to ready (DESIGN.md §9: ≤ 2 s with 100 k jobs in the state), for the faults benchmark: seconds
 * from spawning `muster server` (dist/, its own process) on a data folder to its first `GET /readyz` 200,
 * polled every few ms. Each sample follows a SIGKILL of the previous server on that folder, as a
 * supervisor restarting a crashed server would see it; the state is checked after each restart (the
 * server counts every job as active) before the sample counts.
 *
 * The baseline is the same restart on a folder holding no job: what starting the process costs at all.
 * The loaded folder is filled by a real server through the client library (keyed jobs no node can take,
 * so all stay pending: every one is in the live state), then that server is stopped cleanly.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from '../src/client/index.js';
import { keyedJob } from '../test/faults/submitter.js';
import { MusterChild } from '../test/server/muster-child.js';

const ADMIN_TOKEN = 'bench-faults-restart-admin';
/** How often /readyz is asked: the resolution of a sample. */
const READY_POLL_MS = 5;
/** A server not ready after this long is a failure of the run, not a slow sample. */
const READY_DEADLINE_MS = 120_000;
/** Jobs per submission while filling (the server's default limit is 10,000). */
const FILL_BATCH = 5_000;
/** Submissions in flight while filling. */
const FILL_CONCURRENCY = 4;

export interface RestartSamples {
  /** Seconds to ready on a folder holding no job. */
  readonly empty: number[];
  /** Seconds to ready on the folder holding `jobs` jobs. */
  readonly loaded: number[];
  /** Seconds the filling took (for the log). */
  readonly fillSeconds: number;
}

function writeConfig(dir: string): string {
  const config = join(dir, 'server.yaml');
  writeFileSync(config, `# bench/faults-restart.ts\ntokens:\n  - { token: ${ADMIN_TOKEN}, tenant: default, role: admin }\n`);
  return config;
}

function serverArgs(data: string, config: string): string[] {
  return ['server', '--data', data, '--port', '0', '--config', config];
}

async function activeJobs(url: string): Promise<number> {
  const res = await fetch(new URL('/v1/queues', url), { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const body = (await res.json()) as { queues: { active: number }[] };
  return body.queues.reduce((n, q) => n + q.active, 0);
}

/** Spawns a server on `data`, resolves with the seconds until /readyz said 200, and the server. */
async function timeToReady(data: string, config: string): Promise<{ seconds: number; server: MusterChild; url: string }> {
  const spawned = performance.now();
  const server = new MusterChild(serverArgs(data, config), { MUSTER_LOG_LEVEL: 'warn' });
  const url = (await server.line(/^url: (\S+)$/))[1]!;
  for (;;) {
    const res = await fetch(new URL('/readyz', url)).catch(() => undefined);
    if (res?.status === 200) return { seconds: (performance.now() - spawned) / 1000, server, url };
    if (!server.running) throw new Error(`muster server exited before it was ready: ${server.notes.join('\n')}`);
    if (performance.now() - spawned > READY_DEADLINE_MS) throw new Error(`muster server not ready after ${READY_DEADLINE_MS} ms`);
    await sleep(READY_POLL_MS);
  }
}

/**
 * `restarts` samples on `data` after one unmeasured warm-up restart (file cache, first recovery after a
 * clean stop), each after a SIGKILL of the previous server; each checks the state holds `jobs`.
 */
async function restartSamples(data: string, config: string, jobs: number, restarts: number): Promise<number[]> {
  const seconds: number[] = [];
  for (let i = -1; i < restarts; i++) {
    const { seconds: s, server, url } = await timeToReady(data, config);
    try {
      const active = await activeJobs(url);
      if (active !== jobs) throw new Error(`restart ${i + 2}: the server holds ${active} active jobs, expected ${jobs}`);
    } finally {
      await server.kill();
    }
    if (i >= 0) seconds.push(s);
  }
  return seconds;
}

async function fill(data: string, config: string, jobs: number): Promise<void> {
  const { server, url } = await timeToReady(data, config);
  try {
    const client = createClient({ endpoints: url, token: ADMIN_TOKEN, batch: { maxJobs: FILL_BATCH } });
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < jobs) {
        const from = next;
        next = Math.min(jobs, next + FILL_BATCH);
        const results = await client.submit(Array.from({ length: next - from }, (_, k) => keyedJob(`restart-${from + k}`)));
        const refused = results.find((r) => !r.ok);
        if (refused) throw new Error(`filling: a job was refused: ${JSON.stringify(refused)}`);
      }
    };
    await Promise.all(Array.from({ length: FILL_CONCURRENCY }, worker));
    await client.close();
  } finally {
    server.signal('SIGTERM');
    await server.exited;
  }
}

/** The baseline (an empty folder), then the loaded folder; every folder is removed at the end. */
export async function measureRestarts(options: { jobs: number; restarts: number; log: (line: string) => void }): Promise<RestartSamples> {
  const root = mkdtempSync(join(tmpdir(), 'muster-bench-faults-restart-'));
  try {
    const config = writeConfig(root);
    const emptyData = join(root, 'empty');
    const loadedData = join(root, 'loaded');
    mkdirSync(emptyData);
    mkdirSync(loadedData);
    const empty = await restartSamples(emptyData, config, 0, options.restarts);
    options.log(`restart-empty: ${empty.map((s) => s.toFixed(3)).join(', ')} s`);
    const filling = performance.now();
    await fill(loadedData, config, options.jobs);
    const fillSeconds = (performance.now() - filling) / 1000;
    options.log(`filled a data folder with ${options.jobs.toLocaleString('en-US')} jobs in ${fillSeconds.toFixed(1)} s`);
    const loaded = await restartSamples(loadedData, config, options.jobs, options.restarts);
    options.log(`restart with ${options.jobs.toLocaleString('en-US')} jobs: ${loaded.map((s) => s.toFixed(3)).join(', ')} s`);
    return { empty, loaded, fillSeconds };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
