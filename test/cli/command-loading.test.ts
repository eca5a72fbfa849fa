/**
 * `muster` loads only what the chosen command needs (src/cli/main.ts is a registry of lazily loaded
 * commands): what people put in shell loops must not pay for the server, the agent, the simulator or
 * replay. The modules a real `node bin/muster.js …` process resolves (the built CLI: build first) are
 * recorded by a resolve hook (fixtures/trace-modules.mjs) and checked, not timed: the time is the
 * benchmark's (`npm run bench -- cli`).
 */
import t from 'tap';
import type { Test } from 'tap';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { COMMANDS } from '../../src/cli/main.js';
import { ROOT } from '../server/muster-child.js';

const exec = promisify(execFile);
t.setTimeout(120_000);

/** The modules (dist/ folders as `dist/NAME`, packages by name) a `muster ARGS` process resolved. */
async function modulesOf(t: Test, args: readonly string[]): Promise<Set<string>> {
  const dir = t.testdir({});
  const trace = join(dir, 'modules.txt');
  await exec(process.execPath, ['--import', join(ROOT, 'test', 'cli', 'fixtures', 'trace-modules.mjs'), join(ROOT, 'bin', 'muster.js'), ...args], { cwd: ROOT, env: { ...process.env, MUSTER_TRACE_MODULES: trace } });
  const found = new Set<string>();
  for (const url of readFileSync(trace, 'utf8').split('\n')) {
    const dist = /\/dist\/([^/]+)\//.exec(url);
    const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    if (pkg) found.add(pkg[1]!);
    else if (dist) found.add(`dist/${dist[1]}`);
  }
  return found;
}

/** What a command that only reads the cluster must never load. */
const HEAVY = ['dist/server', 'dist/api', 'dist/agent', 'dist/scheduler', 'dist/store', 'dist/placement', 'dist/replay', 'dist/actors', 'dist/history', 'uWebSockets.js', 'pino', 'etcd3', 'piscina', 'prom-client', 'yaml'];

t.test('muster --version loads the dispatcher and nothing else of muster', async (t) => {
  const modules = await modulesOf(t, ['--version']);
  t.same([...modules].filter((m) => m !== 'dist/cli'), [], 'no other folder, no package');
});

t.test('muster --help lists every command without loading one', async (t) => {
  const modules = await modulesOf(t, ['--help']);
  t.same([...modules].filter((m) => m !== 'dist/cli'), []);
});

t.test('a command that reads the cluster loads the client, not the server, the agent or their packages', async (t) => {
  for (const command of ['jobs', 'job', 'nodes', 'submit', 'watch', 'logs']) {
    const modules = await modulesOf(t, [command, '--help']);
    t.ok(modules.has('dist/client'), `${command} loads the client`);
    t.same(HEAVY.filter((m) => modules.has(m)), [], `${command} loads none of ${HEAVY.join(', ')}`);
    t.notOk(modules.has('ws') || modules.has('msgpackr'), `${command} --help loads no WebSocket or msgpack code before it talks`);
  }
});

t.test("each registry entry's name and summary are its module's", async (t) => {
  for (const entry of COMMANDS) {
    const command = await entry.load();
    t.equal(command.name, entry.name);
    t.equal(command.summary, entry.summary, entry.name);
  }
});
