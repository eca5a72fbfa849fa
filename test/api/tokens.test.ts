/**
 * The token file's `nodes` field (who may speak for which nodes) and the liveness timing the server
 * configuration accepts: every problem reported at once, with its path.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { newToken } from '../../src/api/index.js';
import { readTokenEntries, resolveConfig } from '../../src/server/index.js';

const TOKEN = 'a-token-of-enough-length';

t.test('a generated token never starts with "-", so `--token TOKEN` is never read as an option', async (t) => {
  // One base64url token in 64 would start with "-"; 10,000 draws all miss it by chance with odds of ~1e-68.
  const tokens = Array.from({ length: 10_000 }, newToken);
  t.equal(tokens.filter((token) => token.startsWith('-')).length, 0);
  t.ok(tokens.every((token) => /^[A-Za-z0-9_-]{43}$/.test(token)), 'each is 43 base64url characters');
});

t.test('agent tokens must name their nodes; other roles may not', async (t) => {
  t.same(readTokenEntries([{ token: TOKEN, tenant: 'infra', role: 'agent', nodes: ['gpu-*', 'db-1'] }], 'tokens'), [{ token: TOKEN, tenant: 'infra', role: 'agent', nodes: ['gpu-*', 'db-1'] }]);
  const cases: [unknown, RegExp][] = [
    [{ token: TOKEN, tenant: 'infra', role: 'agent' }, /tokens\[0\]\.nodes: an agent token must name the nodes/],
    [{ token: TOKEN, tenant: 'infra', role: 'agent', nodes: [] }, /tokens\[0\]\.nodes: expected a list of 1 to/],
    [{ token: TOKEN, tenant: 'infra', role: 'agent', nodes: 'gpu-*' }, /tokens\[0\]\.nodes: expected a list/],
    [{ token: TOKEN, tenant: 'infra', role: 'agent', nodes: ['gpu.*'] }, /tokens\[0\]\.nodes\[0\]: "gpu\.\*" is not a node name or glob/],
    [{ token: TOKEN, tenant: 'infra', role: 'admin', nodes: ['*'] }, /tokens\[0\]\.nodes: only agent tokens name nodes/],
  ];
  for (const [entry, problem] of cases) {
    t.throws(() => readTokenEntries([entry], 'tokens'), { code: 'MUSTER_ERR_INVALID_SPEC', message: problem }, JSON.stringify(entry));
  }
});

t.test('liveness timing that would let the server reschedule work an agent still runs is refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'muster-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'muster.yaml');
  writeFileSync(file, 'liveness:\n  lostAfterMs: 4000\n  fenceMs: 3900\n');
  await t.rejects(resolveConfig({ config: file }), { code: 'MUSTER_ERR_INVALID_SPEC', message: /liveness: fenceMs \(3900\) must be at least 250 ms shorter than lostAfterMs \(4000\)/ });
  writeFileSync(file, 'liveness:\n  lostAfterMs: 10000\n  suspectAfterMs: 5000\n');
  t.equal((await resolveConfig({ config: file })).liveness.lostAfterMs, 10_000, 'a longer lost timeout alone is fine: the fence follows it');
});
