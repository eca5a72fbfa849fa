import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import t from 'tap';
import { openEmbeddedStore } from '../../src/store/index.js';
import { createLogger } from '../../src/log/index.js';
import { captureLogger } from './helpers.js';

const silent = createLogger({ name: 'store', level: 'silent' });

t.test('a second open of the same folder in this process is refused until the first closes', async (t) => {
  const dir = t.testdir();
  const first = await openEmbeddedStore({ dir, logger: silent });
  await t.rejects(openEmbeddedStore({ dir, logger: silent }), { code: 'MUSTER_ERR_STORE_LOCKED', message: /already open in this process/ });
  await t.rejects(openEmbeddedStore({ dir: join(dir, '.', '..', dir.split('/').pop() as string), logger: silent }), { code: 'MUSTER_ERR_STORE_LOCKED' }, 'another spelling of the same path');
  await first.close();
  const second = await openEmbeddedStore({ dir, logger: silent });
  await second.close();
});

t.test('a folder locked by another live process is refused, naming its pid', async (t) => {
  const dir = t.testdir();
  // The other process: opens the store, says so, and waits for its stdin to close.
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', `
    const { openEmbeddedStore } = await import(${JSON.stringify(new URL('../../src/store/index.js', import.meta.url).href)});
    const store = await openEmbeddedStore({ dir: ${JSON.stringify(dir)} });
    process.stdout.write('locked\\n');
    process.stdin.resume();
    process.stdin.on('end', async () => { await store.close(); process.exit(0); });
  `], { stdio: ['pipe', 'pipe', 'inherit'] });
  await once(child.stdout, 'data');
  await t.rejects(openEmbeddedStore({ dir, logger: silent }), { code: 'MUSTER_ERR_STORE_LOCKED', message: new RegExp(`in use by process ${child.pid}`) });
  child.stdin.end();
  await once(child, 'exit');
  const store = await openEmbeddedStore({ dir, logger: silent });
  await store.close();
});

t.test('a stale lock (its pid is not running, or it is empty) is taken over with a warning', async (t) => {
  for (const [name, content] of [['dead pid', 'DEAD'], ['empty', '']] as const) {
    const dir = t.testdir({ [name]: {} });
    const folder = join(dir, name);
    let text: string = content;
    if (content === 'DEAD') {
      const exited = spawn(process.execPath, ['-e', '0']);
      await once(exited, 'exit');
      text = `${exited.pid}\n`;
    }
    writeFileSync(join(folder, 'LOCK'), text);
    const { logger, lines } = captureLogger();
    const store = await openEmbeddedStore({ dir: folder, logger });
    t.match(lines.find((l) => l.level === 40)?.msg, /taking over a stale lock/, name);
    await store.close();
  }
});

t.test('a lock whose owner is a zombie (exited, never reaped: a container init that does not reap) is stale', { skip: process.platform !== 'linux' ? 'zombies are read from /proc (Linux only)' : false }, async (t) => {
  // `sleep 0.05` becomes a child of `sleep 30` (the shell execs it), which never waits for it: a zombie.
  const parent = spawn('sh', ['-c', 'sleep 0.05 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.teardown(() => void parent.kill('SIGKILL'));
  const [line] = (await once(parent.stdout!, 'data')) as [Buffer];
  const zombie = Number(line.toString().trim());
  const { readFileSync } = await import('node:fs');
  const state = (): string => {
    const stat = readFileSync(`/proc/${zombie}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  };
  const deadline = Date.now() + 5000;
  while (state() !== 'Z' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  t.equal(state(), 'Z', `pid ${zombie} is a zombie`);
  t.doesNotThrow(() => process.kill(zombie, 0), 'and still answers kill(pid, 0)');
  const dir = t.testdir();
  writeFileSync(join(dir, 'LOCK'), `${zombie}\n`);
  const { logger, lines } = captureLogger();
  const store = await openEmbeddedStore({ dir, logger });
  t.match(lines.find((l) => l.level === 40)?.msg, /taking over a stale lock/);
  await store.close();
});
