/**
 * The server-kill run (issue 12, item 8), shared by the fault test (≥ 20 kills) and the faults benchmark
 * (≥ 50): a real `muster server` on a data folder, several in-process clients (submitter.ts) submitting
 * keyed batches through a Relay (the server comes back on a new port each time: its old one may be held in
 * TIME_WAIT), and SIGKILLs at random moments under that load, each followed by a restart on the same data
 * folder. The server snapshots every few thousand events, so kills also land in snapshots and compactions.
 *
 * A kill strikes at a random moment (seeded: the seed is reported, so a run can be replayed) up to
 * `maxDelayMs` after the restarted server has acknowledged a job again, so every kill lands under load.
 * After the last restart, read straight from the server:
 * - every acknowledged job is there exactly once with its id (GET /v1/jobs, every page: each job's name is
 *   its key), and no key names two jobs;
 * - resubmitting every acknowledged key gives the same id, `existing: true`;
 * - no key was ever acknowledged with two ids;
 * - no process of the run is left once the server is stopped.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seeded } from '../../bench/workloads/random.js';
import { createClient } from '../../src/client/index.js';
import { until } from '../helpers/until.js';
import type { MusterChild } from '../server/muster-child.js';
import { startServerChild } from '../server/muster-child.js';
import type { NamedProcess } from './processes.js';
import { leftoversOf } from './processes.js';
import { Relay } from './relay.js';
import { keyedJob, Submitter } from './submitter.js';

export interface ServerKillOptions {
  readonly kills: number;
  readonly clients: number;
  /** Jobs per submission. */
  readonly batch: number;
  /** A kill strikes at a random moment in this window after the restarted server acknowledged a job. */
  readonly maxDelayMs: number;
  readonly seed: number;
  /** Progress lines (the benchmark prints them). */
  readonly log?: (line: string) => void;
}

export interface ServerKillReport {
  readonly seed: number;
  /** SIGKILLs each followed by a restart that became ready on the same data folder. */
  readonly kills: number;
  readonly acked: number;
  /** Acknowledged keys with no job, or whose job has another id, after the last restart. */
  readonly ackedLost: readonly string[];
  /** Keys that name more than one job. */
  readonly duplicated: readonly string[];
  /** Acknowledged keys whose resubmission was not `existing` with the same id. */
  readonly resubmitChanged: readonly string[];
  /** Keys acknowledged with two different ids. */
  readonly ackConflicts: readonly string[];
  /** Jobs the server lists after the last restart (acknowledged ones and any whose answer a kill cut off). */
  readonly jobs: number;
  /** Submissions that failed and were sent again. */
  readonly retriedSubmissions: number;
  /** Seconds from each SIGKILL to the restarted server's `ready:` line. */
  readonly restartSeconds: readonly number[];
  readonly leftovers: readonly NamedProcess[];
  readonly seconds: number;
}

const ADMIN_TOKEN = 'faults-kills-admin-token-0';
/**
 * A snapshot (and a compaction) every this many events: with a few thousand jobs a second several happen
 * between kills, so kills land in them too, and recovery starts from a snapshot as well as from the log.
 */
const SNAPSHOT_EVERY_EVENTS = 5_000;
/** A restarted server that has acknowledged nothing after this long is a failure, not slowness. */
const LOAD_DEADLINE_MS = 30_000;
/** Acknowledged keys per resubmission over the client (the server's default limit is 10,000). */
const RESUBMIT_BATCH = 1_000;
/** After the clean stop, the server exits at once; this bounds a failure. */
const LEFTOVER_DEADLINE_MS = 10_000;

export async function serverKillRun(options: ServerKillOptions): Promise<ServerKillReport> {
  const started = performance.now();
  const log = options.log ?? (() => undefined);
  const random = seeded(options.seed);
  const root = mkdtempSync(join(tmpdir(), 'muster-faults-kills-'));
  const data = join(root, 'data');
  mkdirSync(data);
  const config = join(root, 'server.yaml');
  writeFileSync(config, `# test/faults: the server-kill run\ntokens:\n  - { token: ${ADMIN_TOKEN}, tenant: default, role: admin }\nsnapshot: { everyEvents: ${SNAPSHOT_EVERY_EVENTS} }\n`);
  const start = (): Promise<{ server: MusterChild; url: string }> => startServerChild(data, { MUSTER_LOG_LEVEL: 'warn' }, ['--config', config]);

  let { server, url } = await start();
  const relay = new Relay(Number(new URL(url).port));
  const submitters: Submitter[] = [];
  try {
    const via = await relay.listen();
    for (let i = 0; i < options.clients; i++) submitters.push(new Submitter(`c${i}`, via, ADMIN_TOKEN, options.batch));
    for (const s of submitters) s.start();
    const acknowledged = (): number => submitters.reduce((n, s) => n + s.acked.size, 0);
    const restartSeconds: number[] = [];
    for (let kill = 1; kill <= options.kills; kill++) {
      const before = acknowledged();
      await until(`the server to acknowledge jobs before kill ${kill}`, async () => acknowledged(), (n) => n > before, LOAD_DEADLINE_MS);
      // The fault's moment is the experiment: a random point in the window, not a wait for something.
      await new Promise((resolve) => setTimeout(resolve, random() * options.maxDelayMs));
      const killedAt = performance.now();
      await server.kill();
      ({ server, url } = await start());
      relay.retarget(Number(new URL(url).port));
      restartSeconds.push((performance.now() - killedAt) / 1000);
      if (kill % 10 === 0 || kill === options.kills) log(`kill ${kill}: ${acknowledged()} jobs acknowledged so far; back in ${restartSeconds.at(-1)!.toFixed(2)} s`);
    }
    await Promise.all(submitters.map((s) => s.stop()));

    const acked = new Map(submitters.flatMap((s) => [...s.acked]));
    const client = createClient({ endpoints: url, token: ADMIN_TOKEN });
    const byKey = new Map<string, string[]>();
    let jobs = 0;
    for await (const job of client.allJobs({ limit: 1_000 })) {
      jobs++;
      if (job.name !== undefined) byKey.set(job.name, [...(byKey.get(job.name) ?? []), job.id]);
    }
    const ackedLost = [...acked].filter(([key, id]) => byKey.get(key)?.length !== 1 || byKey.get(key)![0] !== id).map(([key, id]) => `${key} → ${id}: found ${JSON.stringify(byKey.get(key) ?? [])}`);
    const duplicated = [...byKey].filter(([, ids]) => ids.length > 1).map(([key, ids]) => `${key}: ${ids.join(', ')}`);
    const keys = [...acked.keys()];
    const resubmitChanged: string[] = [];
    for (let i = 0; i < keys.length; i += RESUBMIT_BATCH) {
      const chunk = keys.slice(i, i + RESUBMIT_BATCH);
      const results = await client.submit(chunk.map(keyedJob));
      results.forEach((r, k) => {
        const key = chunk[k]!;
        if (!(r.ok && r.existing === true && r.job === acked.get(key))) resubmitChanged.push(`${key} → ${acked.get(key)}: resubmitted, ${JSON.stringify(r)}`);
      });
    }
    await client.close();
    log(`${options.kills} kills: ${acked.size} jobs acknowledged, ${jobs} listed, ${ackedLost.length} acknowledged ones missing`);
    return {
      seed: options.seed,
      kills: restartSeconds.length,
      acked: acked.size,
      ackedLost,
      duplicated,
      resubmitChanged,
      ackConflicts: submitters.flatMap((s) => s.conflicts),
      jobs,
      retriedSubmissions: submitters.reduce((n, s) => n + s.failures, 0),
      restartSeconds,
      leftovers: await stopAndSearch(server, root),
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await Promise.all(submitters.map((s) => s.stop()));
    await relay.close();
    await server.kill();
    rmSync(root, { recursive: true, force: true });
  }
}

/** SIGTERM, then what still names the run's folder after a bounded wait. */
async function stopAndSearch(server: MusterChild, root: string): Promise<NamedProcess[]> {
  server.signal('SIGTERM');
  await server.exited;
  return leftoversOf(root, LEFTOVER_DEADLINE_MS);
}
