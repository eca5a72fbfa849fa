/**
 * Replicas of `muster server --etcd` in child processes (the built CLI) on a real etcd cluster, for the
 * failover tests, the chaos test and the failover benchmark: a shared token file, one data folder each,
 * free ports. Waits are on the processes' own lines and the servers' answers.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MusterChild } from '../server/muster-child.js';
import { until } from '../helpers/until.js';

export const ADMIN = 'ha-admin-token-0123456789abcdef';

/** Bounds the wait for a port in TIME_WAIT (60 s on Linux) only to report a failure. */
const PORT_FREE_WAIT_MS = 120_000;

export interface RunningChild {
  readonly child: MusterChild;
  readonly url: string;
}

export class ReplicaSet {
  readonly root: string;
  readonly tokens: string;
  readonly #etcd: readonly string[];
  readonly #env: NodeJS.ProcessEnv;
  readonly #extra: readonly string[];
  readonly children: MusterChild[] = [];

  /**
   * `config`: the replicas' config file's content (JSON), when given. `tokens`: entries of the shared token
   * file besides the admin token (an agent token naming its nodes, for real `muster agent` processes).
   */
  constructor(etcd: readonly string[], options: { env?: NodeJS.ProcessEnv; args?: readonly string[]; config?: Record<string, unknown>; tokens?: readonly Record<string, unknown>[] } = {}) {
    this.root = mkdtempSync(join(tmpdir(), 'muster-ha-'));
    this.tokens = join(this.root, 'tokens.json');
    writeFileSync(this.tokens, JSON.stringify([{ token: ADMIN, tenant: 'ops', role: 'admin' }, ...(options.tokens ?? [])]));
    this.#etcd = etcd;
    this.#env = options.env ?? {};
    const config = join(this.root, 'config.json');
    if (options.config) writeFileSync(config, JSON.stringify(options.config));
    this.#extra = [...(options.config ? ['--config', config] : []), ...(options.args ?? [])];
  }

  /** Starts replica `name` (its own data folder under the root) on `port` (0: a free one); resolves once it listens. */
  async start(name: string, port = 0): Promise<RunningChild> {
    const child = new MusterChild(['server', '--etcd', this.#etcd.join(','), '--port', String(port), '--tokens', this.tokens, '--data', join(this.root, name), ...this.#extra], { MUSTER_LOG_LEVEL: 'info', ...this.#env });
    this.children.push(child);
    const url = (await child.line(/^url: (\S+)$/))[1]!;
    return { child, url };
  }

  /**
   * Starts replica `name` again on its own data folder and on the port of `url` (a killed replica's: clients
   * keep its URL), once no socket holds that port. A killed replica's connections linger in TIME_WAIT for
   * 60 s on Linux and uWS listens without SO_REUSEADDR, so an earlier start would fail to listen; the wait
   * reads the kernel's socket table, bounded only to report a failure.
   */
  async restart(name: string, url: string): Promise<RunningChild> {
    const port = Number(new URL(url).port);
    await until(`port ${port} free of the killed replica's sockets`, async () => socketsOnPort(port), (states) => states.length === 0, PORT_FREE_WAIT_MS);
    return this.start(name, port);
  }

  /** Every process SIGKILLed and gone, the folder removed; throws if one is still running. */
  async close(): Promise<void> {
    for (const child of this.children) await child.kill();
    rmSync(this.root, { recursive: true, force: true });
    const left = this.children.filter((c) => c.running);
    if (left.length > 0) throw new Error(`replicas still running: ${left.map((c) => c.pid).join(', ')}`);
  }
}

/** `GET path` with the admin token: status and JSON body. */
export async function get(url: string, path: string, timeoutMs = 5_000): Promise<{ status: number; body: any }> {
  const r = await fetch(url + path, { headers: { authorization: `Bearer ${ADMIN}` }, signal: AbortSignal.timeout(timeoutMs) });
  return { status: r.status, body: await r.json().catch(() => undefined) };
}

/** `get`, with a failure to connect (a killed or paused replica) as status 0. */
export async function probe(url: string, path: string): Promise<{ status: number; body: any }> {
  try {
    return await get(url, path, 2_000);
  } catch {
    return { status: 0, body: undefined };
  }
}

/**
 * The TCP sockets (IPv4 and IPv6) bound to local `port` on this machine, as the kernel's state codes
 * (`0A` listening, `01` established, `06` TIME_WAIT, …), read from /proc/net (Linux).
 */
export function socketsOnPort(port: number): string[] {
  const suffix = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const states: string[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue; // no IPv6 on this machine
    }
    for (const line of text.split('\n').slice(1)) {
      // sl, local_address, rem_address, st, …
      const [, local, , state] = line.trim().split(/\s+/);
      if (local?.endsWith(suffix) && state !== undefined) states.push(state);
    }
  }
  return states;
}
