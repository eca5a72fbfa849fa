/**
 * A server whose store starts failing under submission load (DESIGN.md §7b): a real `muster server` whose
 * store's writes or fsyncs fail with EIO or ENOSPC after a while (MUSTER_STORE_FAULTS, the store's
 * file-system seam), several WebSocket clients submitting batches with idempotency keys, and a health probe.
 *
 * - every client ends with MUSTER_ERR_STORE_FAILED or a closed connection, never a hang (the deadline only
 *   bounds a failure);
 * - `/healthz` answers 503 with the code and the cause before the process goes;
 * - the process exits with 74, having logged the failure once at fatal with its errno and its file;
 * - restarted on the same data folder without faults, every job that was acknowledged is there exactly
 *   once, and resubmitting with the same idempotency keys gives the same ids.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { createLogger } from '../../src/log/index.js';
import { recoverScheduler } from '../../src/scheduler/index.js';
import { openEmbeddedStore } from '../../src/store/index.js';
import { Refused, WsClient, http, jobSpec } from '../api/helpers.js';
import { until } from '../helpers/until.js';
import { LEVEL_FATAL, MusterChild, startServerChild } from '../server/muster-child.js';

/** Concurrent submitting clients, each with one submission in flight. */
const CLIENTS = 4;
/** Jobs per submission. */
const BATCH = 50;
/**
 * Calls of the failing operation that succeed first: opening the store takes one write and two fsyncs,
 * then each group commit one write and one fsync, so some tens of submissions are acknowledged first.
 */
const CALLS_BEFORE_FAULT = 40;
/** The bound on a client's whole run and on the process's exit: only a failure reaches it (the exit comes ~1 s after the fault). */
const DEADLINE_MS = 60_000;
/** Jobs per resubmission over HTTP (the server's default limit per submit is 10,000). */
const RESUBMIT_BATCH = 1_000;

/** How a client's run ended, and the jobs it saw acknowledged (idempotency key → id). */
interface ClientRun {
  readonly end: string;
  readonly acked: Map<string, string>;
}

function withDeadline<T>(what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no end within ${DEADLINE_MS} ms (a hang)`)), DEADLINE_MS)));
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** Submits batch after batch until a submission is refused or the connection closes. */
async function submitUntilRefused(ws: string, token: string, c: number): Promise<ClientRun> {
  const acked = new Map<string, string>();
  let client: WsClient;
  try {
    client = await WsClient.open(`${ws}/v1/submit`, token);
  } catch (err) {
    return { end: err instanceof Refused ? `upgrade ${err.status} ${err.code}` : `closed (upgrade: ${(err as Error).message})`, acked };
  }
  try {
    for (let n = 0; ; n++) {
      const keys = Array.from({ length: BATCH }, (_, k) => `c${c}-s${n}-j${k}`);
      const reply = await Promise.race([client.request({ kind: 'submit', id: n, jobs: keys.map((idempotencyKey) => jobSpec({ idempotencyKey })) }), client.closed.then(() => undefined)]);
      if (reply === undefined) return { end: `closed (${(await client.closed).code}) after ${n} submissions`, acked };
      if (reply.kind === 'error') return { end: String(reply['code']), acked };
      const results = reply['results'] as { ok: boolean; job?: string; code?: string }[];
      results.forEach((r, k) => r.ok && acked.set(keys[k]!, r.job!));
      const refused = results.find((r) => !r.ok);
      if (refused) return { end: results.every((r) => !r.ok && r.code === refused.code) ? String(refused.code) : 'a submission partly accepted', acked };
    }
  } finally {
    client.close();
  }
}

const CASES = [
  { operation: 'write', errno: 'EIO' },
  { operation: 'write', errno: 'ENOSPC' },
  { operation: 'fsync', errno: 'EIO' },
  { operation: 'fsync', errno: 'ENOSPC' },
] as const;

for (const { operation, errno } of CASES) {
  t.test(`${operation} fails with ${errno} under load: refused or closed, never a hang; 503; exit 74; acknowledged jobs back once`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'muster-store-failure-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const { server, url } = await startServerChild(dir, { MUSTER_STORE_FAULTS: `${operation}:${errno}:${CALLS_BEFORE_FAULT}`, MUSTER_LOG_LEVEL: 'warn' });
    t.teardown(() => server.kill());
    const token = readFileSync(join(dir, 'admin.token'), 'utf8').trim();
    t.ok(server.logs.some((l) => /STORE FAULT INJECTION IS ON/.test(l.msg)), 'the server says fault injection is on');

    // The probe runs beside the load: it must see the 503 in the second before the exit.
    const probe = until(
      'a 503 from /healthz',
      () => http(url, '/healthz').catch(() => ({ status: 0, body: 'connection refused: the process is gone' })),
      (r) => r.status !== 200,
      DEADLINE_MS,
    );
    const runs = await withDeadline(
      'the clients',
      Promise.all(Array.from({ length: CLIENTS }, (_, c) => submitUntilRefused(url.replace(/^http/, 'ws'), token, c))),
    );
    const ends = runs.map((r) => r.end);
    t.ok(
      ends.every((e) => e === 'MUSTER_ERR_STORE_FAILED' || e === 'upgrade 503 MUSTER_ERR_STORE_FAILED' || e.startsWith('closed')),
      `every client ended with MUSTER_ERR_STORE_FAILED or a closed connection: ${ends.join(', ')}`,
    );
    t.ok(ends.some((e) => e.includes('MUSTER_ERR_STORE_FAILED')), 'the refusal reached clients');
    const acked = new Map(runs.flatMap((r) => [...r.acked]));
    t.ok(acked.size > 0, `${acked.size} jobs acknowledged before the fault`);

    const health = await probe;
    t.equal(health.status, 503, '/healthz turned 503 before the process went');
    t.match(health.body, { ok: false, code: 'MUSTER_ERR_STORE_FAILED', message: new RegExp(errno) }, 'with the code and the cause');

    const { code } = await withDeadline('the exit', server.exited);
    t.equal(code, 74, 'exits with 74 (EX_IOERR)');
    const fatal = server.logs.filter((l) => l.level >= LEVEL_FATAL);
    t.equal(fatal.length, 1, 'the failure is logged once at fatal');
    t.match(fatal[0], { code: 'MUSTER_ERR_STORE_FAILED', errno, file: new RegExp(`^${dir}/segment-\\d+\\.log$`) }, 'with its errno and its file');

    // Restarted without faults, on the same folder: recovery runs; every acknowledged job is there, once.
    const again = await startServerChild(dir, { MUSTER_STORE_FAULTS: '', MUSTER_LOG_LEVEL: 'warn' });
    t.teardown(() => again.server.kill());
    const keys = [...acked.keys()];
    const resubmitted = new Map<string, { ok: boolean; job?: string; existing?: boolean }>();
    for (let i = 0; i < keys.length; i += RESUBMIT_BATCH) {
      const chunk = keys.slice(i, i + RESUBMIT_BATCH);
      const reply = await http(again.url, '/v1/jobs', token, { body: { jobs: chunk.map((idempotencyKey) => jobSpec({ idempotencyKey })) } });
      t.equal(reply.status, 200);
      (reply.body.results as { ok: boolean; job?: string; existing?: boolean }[]).forEach((r, k) => resubmitted.set(chunk[k]!, r));
    }
    const changed = keys.filter((k) => !(resubmitted.get(k)?.ok && resubmitted.get(k)?.existing && resubmitted.get(k)?.job === acked.get(k)));
    t.same(changed, [], 'resubmitting every acknowledged key gives the same id, as existing');
    again.server.signal('SIGTERM');
    t.equal((await again.server.exited).code, 0, 'the restarted server stops cleanly');

    const store = await openEmbeddedStore({ dir, logger: createLogger({ name: 'test', level: 'silent' }) });
    t.teardown(() => store.close());
    const { state } = await recoverScheduler(store);
    const byKey = new Map<string, string[]>();
    for (const job of state.jobs.values()) {
      const key = job.spec.idempotencyKey;
      if (key !== undefined) byKey.set(key, [...(byKey.get(key) ?? []), job.id]);
    }
    t.same(keys.filter((k) => byKey.get(k)?.length !== 1 || byKey.get(k)?.[0] !== acked.get(k)), [], 'every acknowledged job is there exactly once, with its id');
    t.same([...byKey].filter(([, ids]) => ids.length > 1), [], 'no key names two jobs');
  });
}

t.test('muster start (server and local agent in one process) exits 74 too when its store fails', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'muster-store-failure-start-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const start = new MusterChild(['start'], { MUSTER_DATA: dir, MUSTER_PORT: '0', MUSTER_STORE_FAULTS: `fsync:EIO:${CALLS_BEFORE_FAULT}`, MUSTER_LOG_LEVEL: 'warn' });
  t.teardown(() => start.kill());
  const url = (await start.line(/^url: (\S+)$/))[1]!;
  await start.line(/^ready: /);
  const token = readFileSync(join(dir, 'admin.token'), 'utf8').trim();
  // Jobs no node can take (nothing runs, so no task is left behind), kept pending on request, one
  // submission per group commit.
  const unplaceable = jobSpec({ tasks: [{ resources: { cpu: '4096', memory: '1Gi' }, command: ['true'] }] });
  const refused = await withDeadline(
    'a refusal',
    (async () => {
      for (;;) {
        const reply = await http(url, '/v1/jobs', token, { body: { jobs: [unplaceable], holdUnsatisfiable: true } });
        const code = reply.status === 200 ? (reply.body.results as { code?: string }[])[0]?.code : reply.body.code;
        if (code !== undefined) return code as string;
      }
    })(),
  );
  t.equal(refused, 'MUSTER_ERR_STORE_FAILED');
  const { code } = await withDeadline('the exit', start.exited);
  t.equal(code, 74, 'exits with 74');
  t.equal(start.logs.filter((l) => l.level >= LEVEL_FATAL).length, 1, 'the failure is logged once at fatal');
});
