/**
 * The scheduler's watchdog in a real server's metrics: how long since a dispatch cycle finished, the cycles
 * cut at their deadline, the site tables rebuilt, and actor restarts by name (a queue actor that throws is
 * restarted, counted, and scheduling goes on).
 */
import t from 'tap';
import { TOKENS, fakeAgent, http, jobSpec, startTestServer } from '../api/helpers.js';
import { until } from '../helpers/until.js';

const metric = (text: string, name: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
};

t.test('a queue actor that throws is restarted and counted; the watchdog metrics are there', async (t) => {
  const server = await startTestServer();
  t.teardown(() => server.stop());
  const scrape = async (): Promise<string> => (await http(server.url, '/metrics', TOKENS.admin)).body as string;
  const [first] = (await http(server.url, '/v1/jobs', TOKENS.admin, { body: { jobs: [jobSpec()] } })).body.results;
  t.ok(first.ok, 'a job (and so a queue actor) exists');
  const [queue] = await server.server.core.queueRefs();
  // A message the queue actor cannot handle: its handler throws, as a bug would.
  server.server.actors.tell(queue!, { kind: 'event', event: { kind: 'NoSuchEvent' } } as never);
  const text = await until('the restart to be counted', scrape, (m) => metric(m, 'muster_actor_restarts_total{actor="queue"}') === 1);
  t.equal(metric(text, 'muster_site_table_rebuilds_total'), 1, 'one site table built from the truth at start');
  t.equal(metric(text, 'muster_scheduler_cycles_cut_total'), 0);
  t.type(metric(text, 'muster_scheduler_last_cycle_age_seconds'), 'number');
  t.equal(metric(text, 'muster_scheduler_open_cycle_seconds'), 0, 'no cycle is open');
  // Scheduling goes on: the queue's job runs once a node joins.
  const { client } = await fakeAgent(server, 'after-restart');
  t.teardown(() => client.close());
  const start = await client.next((f) => f.kind === 'start');
  t.equal(start['job'], first.job, "the restarted queue still offers its job");
});
