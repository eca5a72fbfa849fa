/**
 * The compiled runtime (dist/, as in production) starts its worker hosts and CPU pool from `.js` files,
 * with no tsx anywhere: run it in a plain `node` child process. `npm test` builds dist/ first.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';

const dist = fileURLToPath(new URL('../../dist/actors/index.js', import.meta.url));
const plainCounter = new URL('./fixtures/plain-counter.mjs', import.meta.url).href;

const script = `
import { createActorSystem, producer, encodeSnapshot, decodeSnapshot, closeCpuPool } from ${JSON.stringify(new URL(`file://${dist}`).href)};
const s = await createActorSystem({ workers: 1, logLevel: 'silent' });
const ref = await s.spawn(1, producer(${JSON.stringify(plainCounter)}, 'makeCounter'), { start: 1 });
for (let i = 0; i < 100; i++) s.tell(ref, { kind: 'add', n: 1 });
const before = await s.ask(ref, (replyTo) => ({ kind: 'get', replyTo }));
const restarted = new Promise((r) => s.onEvent((e) => e.kind === 'host-restarted' && r(e)));
await s.killHost(1);
await restarted;
const after = await s.ask(ref, (replyTo) => ({ kind: 'get', replyTo }));
const snapshot = await decodeSnapshot(await encodeSnapshot({ a: [1, 2] }));
await closeCpuPool();
await s.shutdown();
console.log(JSON.stringify({ before, after, snapshot }));
`;

t.test('compiled runtime: worker hosts, restart and CPU pool work from dist/ without tsx', { skip: existsSync(dist) ? false : 'dist/ is not built (npm test builds it; run npm run build)' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'muster-dist-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'main.mjs');
  writeFileSync(file, script);
  const { stdout } = await promisify(execFile)(process.execPath, [file], { env: { ...process.env, NODE_OPTIONS: '' }, timeout: 60_000 });
  t.same(JSON.parse(stdout.trim().split('\n').pop() as string), { before: 101, after: 1, snapshot: { a: [1, 2] } });
});
