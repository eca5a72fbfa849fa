/**
 * The etcd part of `muster server`'s configuration: flags over the file, defaults, what it changes in the
 * rest (node-loss timing, a token file required), and every bad value named by its field.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { DEFAULT_ETCD_PREFIX, DEFAULT_LEASE_TTL_SECONDS, HA_LOST_AFTER_MS, resolveConfig } from '../../src/server/index.js';

t.test('etcd from flags or the file; defaults; node loss after 15 s unless the file says', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'muster.yaml');
  const tokens = join(dir, 'tokens.yaml');
  writeFileSync(tokens, '- { token: abcdefghijklmnopqrstuvwxyz, tenant: ops, role: admin }\n');
  const fromFlags = await resolveConfig({ etcd: 'http://a:2379, http://b:2379', tokens });
  t.same(fromFlags.etcd, { endpoints: ['http://a:2379', 'http://b:2379'], prefix: DEFAULT_ETCD_PREFIX, leaseTtlSeconds: DEFAULT_LEASE_TTL_SECONDS });
  t.equal(fromFlags.liveness.lostAfterMs, HA_LOST_AFTER_MS, 'agents outlast a failover');
  writeFileSync(file, `tokens: ${tokens}\netcd:\n  endpoints: [https://e1:2379]\n  prefix: /prod/muster\n  leaseTtlSeconds: 3\n  tls: { caFile: ca.pem, certFile: me.pem, keyFile: me.key }\nliveness: { lostAfterMs: 20000 }\n`);
  const fromFile = await resolveConfig({ config: file });
  t.same(fromFile.etcd, { endpoints: ['https://e1:2379'], prefix: '/prod/muster', leaseTtlSeconds: 3, tls: { caFile: join(dir, 'ca.pem'), certFile: join(dir, 'me.pem'), keyFile: join(dir, 'me.key') } }, 'tls paths relative to the file');
  t.equal(fromFile.liveness.lostAfterMs, 20_000, "the file's own timing wins");
  t.same((await resolveConfig({ config: file, etcdPrefix: '/other', leaseTtlSeconds: 5 })).etcd?.prefix, '/other', 'flags win');
  t.equal((await resolveConfig({})).etcd, undefined, 'no etcd: the embedded store');
  t.equal((await resolveConfig({})).liveness.lostAfterMs, undefined, 'and the usual timing');
});

t.test('bad etcd settings: every problem named by its field', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'muster.yaml');
  const tokens = 'tokens:\n  - { token: abcdefghijklmnopqrstuvwxyz, tenant: ops, role: admin }\n';
  const bad: [string, RegExp][] = [
    ['etcd:\n  endpoints: [http://a:2379]\n', /tokens: replicas on etcd must share their tokens/],
    [`${tokens}etcd:\n  endpoints: []\n`, /etcd\.endpoints: expected at least one URL/],
    [`${tokens}etcd:\n  endpoints: [a:2379]\n`, /etcd\.endpoints\[0\]: "a:2379" is not an etcd URL/],
    [`${tokens}etcd:\n  endpoints: [http://a:2379]\n  prefix: muster/\n`, /etcd\.prefix: "muster\/": expected a key prefix like \/muster/],
    [`${tokens}etcd:\n  endpoints: [http://a:2379]\n  leaseTtlSeconds: 0\n`, /etcd\.leaseTtlSeconds: expected a whole number ≥ 1/],
    [`${tokens}etcd:\n  endpoints: [http://a:2379]\n  lease: 2\n`, /etcd\.lease: unknown field/],
    [`${tokens}etcd:\n  prefix: /x\n`, /etcd\.endpoints: give the etcd endpoints/],
    [`${tokens}etcd:\n  endpoints: [https://a:2379]\n`, /etcd\.tls: https:\/\/ endpoints need tls/],
    [`${tokens}etcd:\n  endpoints: [http://a:2379]\n  tls: { caFile: ca.pem }\n`, /etcd\.tls: tls is for https:\/\/ endpoints/],
    [`${tokens}etcd:\n  endpoints: [https://a:2379, http://b:2379]\n  tls: { caFile: ca.pem }\n`, /etcd\.endpoints: use https:\/\/ for every endpoint or for none/],
    [`${tokens}etcd:\n  endpoints: [https://a:2379]\n  tls: { caFile: ca.pem, certFile: me.pem }\n`, /etcd\.tls\.certFile: give both certFile and keyFile/],
    [`${tokens}etcd: yes\n`, /etcd: expected a map of endpoints, prefix, leaseTtlSeconds, tls/],
  ];
  for (const [text, message] of bad) {
    writeFileSync(file, text);
    await t.rejects(resolveConfig({ config: file }), { code: 'MUSTER_ERR_INVALID_SPEC', message }, text.trim().replace(/\n/g, ' | '));
  }
});
