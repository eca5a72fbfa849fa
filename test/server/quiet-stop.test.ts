/**
 * A clean stop is quiet: `muster server` stopped by SIGTERM while a simulated fleet (`muster sim`, its own
 * process) is connected and running tasks that end all the time writes no log line at `error` or above and
 * exits 0. Before the stop order was fixed, agents disconnecting during the stop made liveness decisions
 * that wrote to a closed store, and cycles emitted after it closed: `store closed` and `could not record a
 * liveness change` lines at fatal and error level came before "stopped".
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { http, jobSpec } from '../api/helpers.js';
import { until } from '../helpers/until.js';
import { LEVEL_ERROR, MusterChild, startServerChild } from './muster-child.js';

/** Enough nodes on few connections that closing them makes many liveness decisions at once. */
const NODES = 40;
/** Short tasks, many more than the fleet's slots, so reports and cycles keep coming while the server stops. */
const JOBS = 2_000;

t.test('SIGTERM with agents connected and tasks ending: exit 0, "stopped", no log line at error or above', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'muster-quiet-stop-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { server, url } = await startServerChild(dir, { MUSTER_LOG_LEVEL: 'info' });
  t.teardown(() => server.kill());
  const token = readFileSync(join(dir, 'admin.token'), 'utf8').trim();

  const sim = new MusterChild(['sim', '--nodes', String(NODES), '--connections', '2', '--cpu', '4', '--server', url, '--token', token], { MUSTER_LOG_LEVEL: 'warn' });
  t.teardown(() => sim.kill());
  const said = (): string => `sim: ${JSON.stringify([...sim.notes, ...sim.logs.slice(-20)])}\nserver: ${JSON.stringify(server.logs.filter((l) => l.level >= 40).slice(-20))}`;
  await until('the fleet registered', () => http(url, '/v1/nodes', token), (r) => r.status === 200 && (r.body.nodes as unknown[]).length === NODES, undefined, said);

  const jobs = Array.from({ length: JOBS }, (_, i) => jobSpec({ idempotencyKey: `quiet-${i}`, tasks: [{ resources: { cpu: '1', memory: '64Mi' }, command: ['sleep', '0.05'] }] }));
  const submitted = await http(url, '/v1/jobs', token, { body: { jobs } });
  t.equal(submitted.status, 200);
  await until('tasks ending', () => http(url, '/v1/jobs?status=succeeded&limit=1', token), (r) => r.status === 200 && (r.body.jobs as unknown[]).length > 0);

  server.signal('SIGTERM');
  const { code } = await server.exited;
  t.equal(code, 0, 'exits 0');
  await t.resolves(server.line(/^stopped$/), 'prints "stopped"');
  const loud = server.logs.filter((l) => l.level >= LEVEL_ERROR);
  t.same(loud, [], 'no log line at error or above');
  t.ok(server.logs.some((l) => /^stopped/.test(l.msg)), 'the stop is logged');

  sim.signal('SIGTERM');
  await sim.exited;
  t.notOk(server.running || sim.running, 'no process left');
});
