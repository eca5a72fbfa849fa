// CPU profile → flame graph tree, on a real profile made here with `node --cpu-prof`; the flame graph pages;
// and the preload that profiles every process of a `--profile` run, on real processes and threads.
import t from 'tap';
import type { Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createContext, Script } from 'node:vm';
import type { CpuProfile, FlameNode } from '../../bench/lib/flame.js';
import { flameTree, frameName } from '../../bench/lib/flame.js';
import { flameAssets, flameIndex, flamePage } from '../../bench/lib/flame-page.js';
import { processLabel, profileIds, writeFlameGraphs } from '../../bench/lib/profiles.js';

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const PRELOAD = join(ROOT, 'bench', 'lib', 'profile-preload.cjs');

/** A program that burns ~300 ms of CPU in a function of a known name, called from another, then idles. */
const PROGRAM = `
function innerBurnForFlameTest(ms) { const end = Date.now() + ms; let x = 0; while (Date.now() < end) x += Math.sqrt(x + 1); return x; }
function outerBurnForFlameTest() { return innerBurnForFlameTest(300); }
outerBurnForFlameTest();
setTimeout(() => {}, 100);
`;

function scratch(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'muster-flame-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function profileOf(t: Test): { profile: CpuProfile; dir: string; script: string } {
  const dir = scratch(t);
  const script = join(dir, 'burn.js');
  writeFileSync(script, PROGRAM);
  // Without the test runner's NODE_OPTIONS (its loader would be most of a short profile).
  const env = { ...process.env, NODE_OPTIONS: '' };
  const ran = spawnSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, script], { encoding: 'utf8', timeout: 30_000, env });
  t.equal(ran.status, 0, ran.stderr);
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error('node --cpu-prof wrote no profile');
  return { profile: JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile, dir, script };
}

function* walk(node: FlameNode, path: string[] = []): Generator<{ node: FlameNode; path: string[] }> {
  yield { node, path };
  for (const child of node.children) yield* walk(child, [...path, node.name]);
}

t.test('a real profile as a flame graph tree', async (t) => {
  const { profile, dir } = profileOf(t);
  const tree = flameTree(profile, { root: dir, title: 'burn' });
  const nodes = [...walk(tree.root)];

  t.equal(tree.root.name, 'burn');
  t.ok(tree.totalMicros > 300_000, `the profile covers the run (${tree.totalMicros} µs)`);
  t.ok(tree.root.value + tree.idleMicros <= tree.totalMicros + 1, 'busy plus idle is at most the profiled time');
  t.ok(tree.idleMicros > 0, 'the idle wait is counted');
  t.notOk(nodes.some(({ node }) => node.name.startsWith('(idle)')), 'idle is left out of the tree');

  const inner = nodes.find(({ node }) => node.name === 'innerBurnForFlameTest burn.js:2');
  t.ok(inner, 'the burning function is named with its file (the root taken off) and line');
  t.ok(inner!.node.value >= 0.3 * tree.root.value, `it holds much of the busy time (${inner!.node.value} of ${tree.root.value} µs)`);
  t.ok(inner!.node.value >= 200_000, 'about the 300 ms it burned');
  t.ok(inner!.path.includes('outerBurnForFlameTest burn.js:3'), 'below its caller');

  for (const { node } of nodes) {
    const below = node.children.reduce((sum, c) => sum + c.value, 0);
    t.ok(node.value >= below - 1e-6, `${node.name}: a frame's value covers its children`);
    t.ok(node.value > 0, `${node.name}: no empty frame`);
    t.equal(new Set(node.children.map((c) => c.name)).size, node.children.length, `${node.name}: children merged by frame`);
  }
  const selfSum = tree.self.reduce((sum, s) => sum + s.micros, 0);
  t.ok(Math.abs(selfSum - tree.root.value) < 1, 'self times add up to the busy time');
  t.same(tree.self.map((s) => s.micros), [...tree.self.map((s) => s.micros)].sort((a, b) => b - a), 'self times largest first');
  t.equal(tree.self[0]!.name, 'innerBurnForFlameTest burn.js:2');
});

t.test('frame names', async (t) => {
  t.equal(frameName({ functionName: '', url: '', lineNumber: -1 }), '(anonymous)');
  t.equal(frameName({ functionName: '(garbage collector)', url: '', lineNumber: -1 }), '(garbage collector)');
  t.equal(frameName({ functionName: 'f', url: 'file:///repo/src/a%20b.ts', lineNumber: 9 }, '/repo'), 'f src/a b.ts:10');
  t.equal(frameName({ functionName: 'g', url: 'node:internal/url', lineNumber: 0 }, '/repo'), 'g node:internal/url:1');
});

t.test('the flame graph page inlines its libraries and the tree, and its script parses', async (t) => {
  const { profile, dir } = profileOf(t);
  const tree = flameTree(profile, { root: dir, title: 'burn' });
  const page = flamePage(tree, { file: 'CPU.1.2.3.0.001.cpuprofile', pid: 3, thread: 0, process: 'burn.js' }, flameAssets(ROOT));
  t.notMatch(page, /<script[^>]+src=/, 'no script loaded from elsewhere');
  t.notMatch(page, /<link /, 'no stylesheet loaded from elsewhere');
  t.match(page, 'innerBurnForFlameTest burn.js:2', 'the tree is in the page');
  const scripts = [...page.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
  t.equal(scripts.length, 15, 'thirteen d3 modules, d3-flame-graph, the page\'s own');
  t.match(scripts[13]!, 'flamegraph', 'd3-flame-graph is inlined');
  for (const [i, s] of scripts.entries()) t.doesNotThrow(() => new Script(s), `script ${i} parses`);

  // The libraries load in order into one global scope and offer what the page's script calls (no DOM here:
  // the chart is built, not drawn).
  const element = (): object => ({ textContent: '', appendChild: () => undefined, setAttribute: () => undefined, style: {} });
  const scope: Record<string, unknown> = { document: { createElement: element, head: element() } };
  scope['window'] = scope;
  scope['self'] = scope;
  const context = createContext(scope);
  for (const s of scripts.slice(0, 14)) new Script(s).runInContext(context);
  const api = new Script(
    "const c = flamegraph.default().width(800).cellHeight(18).minFrameSize(1).sort(true).setDetailsElement(null).setLabelHandler((d) => d.data.name); [typeof d3.select, typeof c, typeof c.search, typeof c.resetZoom]",
  ).runInContext(context) as string[];
  t.same(api, ['function', 'function', 'function', 'function'], 'd3.select and the chart\'s methods the page uses');

  const index = flameIndex('bench x', [{ meta: { file: 'f', pid: 3, thread: 1, process: 'muster server --data' }, page: 'flame-3-1-001.html', tree }], 'x.json');
  t.match(index, 'href="flame-3-1-001.html"');
  t.match(index, 'muster server --data');
  t.match(index, 'href="x.json"');
});

t.test('process labels and profile names', async (t) => {
  t.equal(processLabel(['/usr/bin/node', '/repo/bin/muster.js', 'server', '--data', '/tmp/x'], [], '/repo'), 'muster server --data');
  t.equal(processLabel(['/usr/bin/node', '/repo/bench/run.ts', 'cli', '--quick'], ['--import=tsx'], '/repo'), 'bench/run.ts cli --quick');
  t.equal(processLabel(['/usr/bin/node'], ['--require=/repo/bench/lib/profile-preload.cjs', '-e', '0'], '/repo'), 'node -e 0');
  t.same(profileIds('CPU.20261207.141655.19396.1.002.cpuprofile'), { pid: 19396, thread: 1 });
  t.equal(profileIds('other.cpuprofile'), undefined);
});

t.test('the preload profiles a process and the worker threads it starts (even a terminated one, even under --expose-gc)', async (t) => {
  const dir = scratch(t);
  const script = join(dir, 'threads.mjs');
  writeFileSync(
    script,
    `import { Worker } from 'node:worker_threads';
const body = 'const end = Date.now() + 100; while (Date.now() < end); require("node:worker_threads").parentPort.postMessage(typeof gc); setInterval(() => {}, 1000);';
const worker = new Worker(body, { eval: true });
// --expose-gc is refused in a worker's execArgv; the thread still has gc (the flag is the process's).
worker.on('message', (gc) => (gc === 'function' ? worker.terminate() : process.exit(3)));
worker.on('exit', () => { const end = Date.now() + 100; while (Date.now() < end); process.exit(0); });
`,
  );
  const ran = spawnSync(process.execPath, ['--expose-gc', script], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, NODE_OPTIONS: `--require=${PRELOAD}`, MUSTER_BENCH_PROFILE_DIR: dir },
  });
  t.equal(ran.status, 0, ran.stderr);
  const profiles = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort();
  // The worker's thread id depends on what else started threads first (a loader's hooks thread, under tap).
  t.same(profiles.map((f) => (profileIds(f)?.thread === 0 ? 'main' : 'worker')).sort(), ['main', 'worker'], 'the main thread and the terminated worker');
  t.same(new Set(profiles.map((f) => profileIds(f)?.pid)).size, 1, 'of one process');
  const main = JSON.parse(readFileSync(join(dir, profiles.find((f) => profileIds(f)?.thread === 0)!), 'utf8')) as CpuProfile;
  t.ok((main.samples ?? []).length > 10, 'the main thread was sampled');

  t.equal(writeFlameGraphs(dir, ROOT, 'threads'), 2);
  const index = readFileSync(join(dir, 'index.html'), 'utf8');
  t.match(index, script.slice(ROOT.length + 1) || script, 'the index names the process by its script');
  t.equal(readdirSync(dir).filter((f) => f.startsWith('flame-')).length, 2, 'a page per profile');
});
