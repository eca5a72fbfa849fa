/**
 * `npm run ha`: a highly available muster on this machine, to try a failover by hand. Starts a three-member
 * etcd cluster (Debian's `etcd`, on free loopback ports, data in a temporary folder), three `muster server
 * --etcd` replicas sharing a token file, and one `muster agent` given all three; prints how to watch the
 * leader, kill it, and see the takeover. Ctrl-C stops everything and removes the folder.
 *
 * Logs: each replica's and the agent's in the folder printed at start (`r1.log`, …, `agent.log`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EtcdCluster, freePort } from '../test/helpers/etcd-cluster.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MUSTER = join(ROOT, 'bin', 'muster.js');
const REPLICAS = 3;

function run(args: readonly string[], log: string): ChildProcess {
  const out = openSync(log, 'a');
  return spawn(process.execPath, [MUSTER, ...args], { cwd: ROOT, stdio: ['ignore', out, out] });
}

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'muster-ha-'));
  console.log(`folder: ${dir}`);
  console.log('starting three etcd members ...');
  const etcd = await EtcdCluster.start({ members: 3 });
  const admin = randomBytes(24).toString('hex');
  const agentToken = randomBytes(24).toString('hex');
  const tokens = join(dir, 'tokens.json');
  writeFileSync(tokens, JSON.stringify([{ token: admin, tenant: 'ops', role: 'admin' }, { token: agentToken, tenant: 'ops', role: 'agent', nodes: ['ha-*'] }], null, 2), { mode: 0o600 });
  const ports: number[] = [];
  for (let i = 0; i < REPLICAS; i++) ports.push(await freePort());
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  const children = new Map<string, ChildProcess>();
  for (let i = 0; i < REPLICAS; i++) {
    const name = `r${i + 1}`;
    children.set(name, run(['server', '--etcd', etcd.endpoints.join(','), '--port', String(ports[i]), '--tokens', tokens, '--data', join(dir, name)], join(dir, `${name}.log`)));
  }
  for (const url of urls) {
    for (let tries = 0; !(await answers(url)); tries++) {
      if (tries > 300) throw new Error(`${url} does not answer; see the logs in ${dir}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  mkdirSync(join(dir, 'agent'));
  children.set('agent', run(['agent', '--server', urls.join(','), '--token', agentToken, '--name', 'ha-node-1', '--cpu', '2', '--memory', '2Gi', '--work-dir', join(dir, 'agent')], join(dir, 'agent.log')));

  const pids = [...children].map(([name, child]) => `${name} ${child.pid}`).join(', ');
  console.log(`
etcd:     ${etcd.endpoints.join(',')}
replicas: ${urls.join(',')}
pids:     ${pids}

In another terminal:

  export MUSTER_SERVER=${urls.join(',')} MUSTER_TOKEN=${admin}
  node bin/muster.js leader                      # who leads, with which epoch; each replica's role
  node bin/muster.js submit -- sleep 60          # a job that runs on ha-node-1 for a minute
  kill -9 <the leader's pid>                     # r1, r2 or r3: see the pids above
  node bin/muster.js leader                      # another replica leads within seconds, with a higher epoch
  node bin/muster.js jobs                        # the job is still running, as attempt 1

Each replica's log is in ${dir}/rN.log ("leading (epoch N): took over in X ms"; "deposed"). A killed
replica can be started again as a standby with the same command (see the log's first lines).
Ctrl-C stops everything.`);

  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  console.log('\nstopping ...');
  for (const child of children.values()) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  await Promise.all([...children.values()].map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
  await etcd.close();
  rmSync(dir, { recursive: true, force: true });
  console.log('stopped');
}

main().catch((err: unknown) => {
  console.error(`npm run ha: ${(err as Error).message}`);
  process.exit(1);
});
