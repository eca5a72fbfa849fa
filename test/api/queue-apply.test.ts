/**
 * Queues defined and changed at run time (`POST /v1/queues`, `muster queue apply`): admin only, all or
 * nothing with every problem at once, acted on at the next cycle (a raised limit lets a held-back job run),
 * and durable across a restart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { fakeAgent, http, jobSpec, startTestServer, TOKENS } from './helpers.js';

const queueOf = async (url: string, name: string): Promise<Record<string, unknown> | undefined> =>
  ((await http(url, '/v1/queues', TOKENS.admin)).body.queues as { name: string }[]).find((q) => q.name === name);

t.test('apply: admin only, every problem at once, a new limit acts at once, durable', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'muster-queue-apply-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  let server = await startTestServer({ dir });
  t.teardown(() => server.stop());
  const parent = { kind: 'Queue', tenant: 'acme', name: 'acme', guarantee: { cpu: '4' } };
  const batch = { kind: 'Queue', tenant: 'acme', name: 'acme/batch', weight: 2, limit: { cpu: '1' } };

  t.equal((await http(server.url, '/v1/queues', TOKENS.acme, { body: { queues: [parent, batch] } })).status, 403, 'a submitter may not');
  const orphan = await http(server.url, '/v1/queues', TOKENS.admin, { body: { queues: [batch] } });
  t.match(orphan.body.problems, [{ path: 'queues[0].name', code: 'MUSTER_ERR_NOT_FOUND', message: /parent queue acme is not defined/ }], 'a child needs its parent');
  const created = await http(server.url, '/v1/queues', TOKENS.admin, { body: { queues: [batch, parent] } });
  t.same(created.body, { applied: [{ name: 'acme/batch', tenant: 'acme', created: true }, { name: 'acme', tenant: 'acme', created: true }] }, 'a parent in the same apply will do');
  t.match(await queueOf(server.url, 'acme/batch'), { tenant: 'acme', weight: 2, limit: { cpu: 1000 } });

  const bad = await http(server.url, '/v1/queues', TOKENS.admin, {
    body: {
      queues: [
        { ...batch, tenant: 'globex', weight: 5 },
        { tenant: 'acme', name: 'acme/other', weight: 0, limit: { cpu: 'lots' } },
        { tenant: 'acme', name: 'acme/other' },
        { kind: 'Job', tenant: 'acme', name: 'acme/third' },
        { tenant: 'acme', name: 'acme/big', guarantee: { cpu: '3' } },
        { tenant: 'acme', name: 'acme/bigger', guarantee: { cpu: '2' } },
        { tenant: 'globex', name: 'acme/theirs' },
      ],
    },
  });
  t.equal(bad.status, 400);
  t.same(
    (bad.body.problems as { path: string; message: string }[]).map((p) => `${p.path}: ${p.message}`),
    [
      'queues[0].tenant: queue acme/batch belongs to tenant acme; a queue\'s tenant does not change',
      'queues[1].weight: a weight must be greater than 0',
      'queues[1].limit.cpu: "lots" is not a cpu quantity (write 500m, 2 or 1.5)',
      'queues[2].name: queue acme/other is also queues[1]',
      'queues[3].kind: "Job" is not Queue',
      'queues[0].tenant: its parent queue acme belongs to tenant acme; a child queue has its parent\'s tenant',
      'queues[6].tenant: its parent queue acme belongs to tenant acme; a child queue has its parent\'s tenant',
      'queues[4].guarantee: the cpu guarantees of acme/big, acme/bigger add up to 5, more than queue acme\'s guarantee of 4',
    ],
    'every problem, each with its path',
  );
  t.match(await queueOf(server.url, 'acme/batch'), { tenant: 'acme', weight: 2 }, 'nothing applied');
  t.equal(await queueOf(server.url, 'acme/other'), undefined);

  // The limit holds the second job back; raising it lets it run.
  const agent = await fakeAgent(server, 'n1');
  const submitted = await http(server.url, '/v1/jobs', TOKENS.acme, { body: { jobs: [jobSpec({ queue: 'acme/batch' }), jobSpec({ queue: 'acme/batch' })] } });
  const [first, second] = (submitted.body.results as { job: string }[]).map((r) => r.job);
  await agent.client.next((f) => f.kind === 'start' && f['job'] === first);
  const why = await http(server.url, `/v1/jobs/${second}/why`, TOKENS.acme);
  t.match(why.body.reasons, [{ kind: 'queue-limit' }]);
  const updated = await http(server.url, '/v1/queues', TOKENS.admin, { body: { queues: [{ ...batch, weight: 3, limit: { cpu: '2' } }] } });
  t.same(updated.body, { applied: [{ name: 'acme/batch', tenant: 'acme', created: false }] });
  await agent.client.next((f) => f.kind === 'start' && f['job'] === second);
  agent.client.close();

  await server.stop();
  server = await startTestServer({ dir });
  t.match(await queueOf(server.url, 'acme/batch'), { tenant: 'acme', weight: 3, limit: { cpu: 2000 } }, 'the update survives a restart');
});
