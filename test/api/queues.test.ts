/**
 * Queues belong to tenants: a queue is made for the tenant whose job first names it (or defined with its
 * tenant); another tenant's submission into it is refused per job; a tenant cannot make queues without
 * bound; a submitter sees only its own tenant's queues.
 */
import t from 'tap';
import type { Frame } from './helpers.js';
import { TOKENS, http, jobSpec, startTestServer } from './helpers.js';
import { MAX_QUEUES_PER_TENANT } from '../../src/scheduler/queue-ownership.js';

t.test('a queue is its tenant\'s: others may not submit into it, nor see it; naming queues has a bound', async (t) => {
  const server = await startTestServer({ config: { queues: [{ tenant: 'globex', name: 'globex-gold', weight: 2, priority: 0, guaranteedShare: 0, borrow: true }] } });
  t.teardown(() => server.stop());
  const submit = (token: string, queue: string, tenant?: string) =>
    http(server.url, '/v1/jobs', token, { body: { jobs: [jobSpec({ queue })], ...(tenant ? { tenant } : {}) } }).then((r) => r.body.results[0] as Frame);

  t.match(await submit(TOKENS.acme, 'acme-work'), { ok: true }, 'a new queue name makes a queue of the submitter\'s tenant');
  t.match(await submit(TOKENS.globex, 'acme-work'), { ok: false, code: 'MUSTER_ERR_FORBIDDEN', message: /belongs to tenant acme/ }, "another tenant's job is refused");
  t.match(await submit(TOKENS.acme, 'globex-gold'), { ok: false, code: 'MUSTER_ERR_FORBIDDEN' }, 'so is one into a configured queue of another tenant');
  t.match(await submit(TOKENS.admin, 'acme-work', 'globex'), { ok: false, code: 'MUSTER_ERR_FORBIDDEN' }, 'an admin acting for a tenant follows that tenant\'s rule');
  t.match(await submit(TOKENS.admin, 'acme-work', 'acme'), { ok: true });

  const names = async (token: string): Promise<string[]> => ((await http(server.url, '/v1/queues', token)).body.queues as Frame[]).map((q) => q['name'] as string).sort();
  t.same(await names(TOKENS.acme), ['acme-work'], 'a submitter sees its own queues only');
  t.same(await names(TOKENS.globex), ['globex-gold']);
  t.same(await names(TOKENS.viewer), ['acme-work', 'globex-gold'], 'a viewer sees every tenant\'s');
  t.match(await http(server.url, '/v1/queues?tenant=acme', TOKENS.viewer), { status: 400, body: { code: 'MUSTER_ERR_UNKNOWN_FIELD' } });

  // acme has 1 queue; it may make MAX - 1 more, then no more.
  const jobs = Array.from({ length: MAX_QUEUES_PER_TENANT }, (_, i) => jobSpec({ queue: `acme-${i}` }));
  const results = (await http(server.url, '/v1/jobs', TOKENS.acme, { body: { jobs } })).body.results as Frame[];
  t.ok(results.slice(0, MAX_QUEUES_PER_TENANT - 1).every((r) => r['ok'] === true), `up to ${MAX_QUEUES_PER_TENANT} queues`);
  t.match(results[MAX_QUEUES_PER_TENANT - 1], { ok: false, code: 'MUSTER_ERR_LIMIT_EXCEEDED', message: /the most it may have/ }, 'and no more');
  t.match(await submit(TOKENS.acme, 'acme-3'), { ok: true }, 'its existing queues still take jobs');
  t.match(await submit(TOKENS.globex, 'globex-new'), { ok: true }, 'the bound is per tenant');
});
