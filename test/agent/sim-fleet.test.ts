/**
 * The simulated fleet against a real server (embedded store, real sockets): nodes register over a few
 * multiplexed connections, jobs run for their requested duration and end as asked, and a fleet that
 * comes back after losing its connection registers again and reports what ended meanwhile.
 */
import t from 'tap';
import { agentUrls, SimFleet, simulatedDuration } from '../../src/agent/index.js';
import { createClient } from '../../src/client/index.js';
import { createLogger } from '../../src/log/index.js';
import { startTestServer, TOKENS } from '../api/helpers.js';
import { until } from '../helpers/until.js';

const quiet = createLogger({ name: 'sim-test', level: 'silent' });

t.test('simulated durations come from the env, then from a sleep command, else nothing', async (t) => {
  const base = { command: 'run', args: [], shell: false, env: {} };
  t.equal(simulatedDuration({ ...base, env: { MUSTER_SIM_DURATION: '1.5s' } }), 1500);
  t.equal(simulatedDuration({ ...base, command: 'sleep', args: ['2'] }), 2000);
  t.equal(simulatedDuration({ ...base, command: '/bin/sleep', args: ['0.25'] }), 250);
  t.equal(simulatedDuration({ ...base, command: 'sleep 3', shell: true }), 3000);
  t.equal(simulatedDuration(base), 0);
});

t.test('a fleet registers its nodes over few connections and runs jobs to their end', async (t) => {
  const server = await startTestServer();
  t.teardown(() => server.stop());
  const fleet = new SimFleet({ endpoints: agentUrls(server.url), token: TOKENS.agent, nodes: 12, sites: ['local'], connections: 3, capacity: { cpu: '2', memory: '4Gi' }, log: quiet });
  t.teardown(() => fleet.stop());
  await fleet.start();
  const client = createClient({ endpoints: server.url, token: TOKENS.admin });
  t.teardown(() => client.close());
  const nodes = await until('12 nodes', () => client.nodes(), (n) => n.length === 12);
  t.ok(nodes.every((n) => n.state === 'ready'), 'every node is ready');

  const job = (extra: Record<string, unknown> = {}) => ({ queue: 'default', tasks: [{ resources: { cpu: '1', memory: '1Gi' }, command: ['sleep', '0.2'] }], ...extra });
  const results = await client.submit([job({ array: 30 }), job({ tasks: [{ resources: { cpu: '1', memory: '1Gi' }, command: ['run'], env: { MUSTER_SIM_EXIT: '3' } }] })]);
  t.ok(results.every((r) => r.ok), 'submitted');
  const [ok, bad] = results.map((r) => (r.ok ? r.job : ''));
  const done = await until('both jobs to end', () => Promise.all([client.job(ok!), client.job(bad!)]), (js) => js.every((j) => ['succeeded', 'failed', 'cancelled'].includes(j.status)));
  t.equal(done[0]!.status, 'succeeded', 'the 30 sleeping tasks ran on the fleet and succeeded (24 slots: two waves)');
  t.equal(done[1]!.status, 'failed', 'a task told to exit 3 fails');
  t.equal(fleet.stats().started, 31);
  t.equal(fleet.stats().running, 0);
});
