/**
 * A real etcd cluster for tests: N members of Debian's `etcd` (`/usr/bin/etcd`, or `MUSTER_ETCD_BIN`) on
 * free loopback ports, each with a temporary data folder, started by the test and gone after `close()`.
 * Members can be killed, paused (SIGSTOP), resumed and restarted on their own data, for fault tests.
 * Waits are on the members' own `/health` answers, bounded only to report a failure.
 *
 * `close()` kills what is still running, waits for every process to exit and removes the folders; it throws
 * if a member process is still alive afterwards, so a test that leaks one fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ETCD_BIN = process.env['MUSTER_ETCD_BIN'] ?? '/usr/bin/etcd';

/** Starts of a cluster tried when a member finds its port taken (each on new ports). */
const PORT_ATTEMPTS = 5;

class PortTaken extends Error {}

/** A port nothing listens on now (the kernel's choice for port 0). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface EtcdMember {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  /** The running process, if any. */
  process: ChildProcess | undefined;
  /** What the member wrote on stderr (its log), for failure messages. */
  readonly output: string[];
}

export interface EtcdClusterOptions {
  /** Members (default 3). */
  readonly members?: number;
  /** Longest wait for the cluster to answer healthy (default 60 s; only bounds a failure). */
  readonly startTimeoutMs?: number;
  /** `--quota-backend-bytes` (default: etcd's own, 2 GiB). */
  readonly quotaBackendBytes?: number;
}

export class EtcdCluster {
  readonly members: EtcdMember[];
  readonly #root: string;
  readonly #initialCluster: string;
  readonly #options: EtcdClusterOptions;
  #closed = false;

  private constructor(root: string, members: EtcdMember[], options: EtcdClusterOptions) {
    this.#root = root;
    this.members = members;
    this.#options = options;
    this.#initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  }

  /**
   * Starts the members. A port picked free may be taken by another process before etcd binds it (tests run in
   * parallel): a member that exits saying so makes the whole cluster start again on new ports, a few times.
   */
  static async start(options: EtcdClusterOptions = {}): Promise<EtcdCluster> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await EtcdCluster.#startOnce(options);
      } catch (err) {
        if (!(err instanceof PortTaken) || attempt >= PORT_ATTEMPTS) throw err;
      }
    }
  }

  static async #startOnce(options: EtcdClusterOptions): Promise<EtcdCluster> {
    const root = mkdtempSync(join(tmpdir(), 'muster-etcd-'));
    const members: EtcdMember[] = [];
    for (let i = 0; i < (options.members ?? 3); i++) {
      members.push({ name: `m${i}`, clientUrl: `http://127.0.0.1:${await freePort()}`, peerUrl: `http://127.0.0.1:${await freePort()}`, dataDir: join(root, `m${i}`), process: undefined, output: [] });
    }
    const cluster = new EtcdCluster(root, members, options);
    try {
      for (const m of members) cluster.#spawn(m);
      await Promise.all(members.map((m) => cluster.waitHealthy(m)));
      return cluster;
    } catch (err) {
      await cluster.close();
      throw err;
    }
  }

  /** Every member's client URL, for `--etcd`. */
  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  #spawn(m: EtcdMember): void {
    // prettier-ignore
    const args = [
      '--name', m.name, '--data-dir', m.dataDir,
      '--listen-client-urls', m.clientUrl, '--advertise-client-urls', m.clientUrl,
      '--listen-peer-urls', m.peerUrl, '--initial-advertise-peer-urls', m.peerUrl,
      '--initial-cluster', this.#initialCluster, '--initial-cluster-state', 'new', '--initial-cluster-token', 'muster-test',
      // A fast loopback cluster: heartbeats every 50 ms, a member elects after 500 ms of silence.
      '--heartbeat-interval', '50', '--election-timeout', '500',
      '--log-level', 'warn', '--logger', 'zap',
      ...(this.#options.quotaBackendBytes !== undefined ? ['--quota-backend-bytes', String(this.#options.quotaBackendBytes)] : []),
    ];
    const child = spawn(ETCD_BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      m.output.push(chunk);
      if (m.output.length > 200) m.output.splice(0, m.output.length - 200);
    });
    m.process = child;
  }

  /** Resolves once `m` answers `/health` with `"health":"true"` (the cluster has a leader and it serves). */
  async waitHealthy(m: EtcdMember, timeoutMs = this.#options.startTimeoutMs ?? 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (m.process === undefined || m.process.exitCode !== null || m.process.signalCode !== null) {
        if (/address already in use/.test(m.output.join(''))) throw new PortTaken(`etcd member ${m.name}: a port it was given was taken meanwhile`);
        throw new Error(`etcd member ${m.name} is not running (exit ${m.process?.exitCode ?? m.process?.signalCode}): ${m.output.join('').slice(-2000)}`);
      }
      try {
        const r = await fetch(`${m.clientUrl}/health`, { signal: AbortSignal.timeout(2000) });
        const body = (await r.json()) as { health?: string };
        if (body.health === 'true') return;
      } catch {
        // not listening yet, or no leader yet
      }
      if (Date.now() > deadline) throw new Error(`etcd member ${m.name} did not become healthy within ${timeoutMs} ms: ${m.output.join('').slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** SIGKILL of member `i`; resolves once it has exited. */
  async kill(i: number): Promise<void> {
    const m = this.members[i]!;
    const child = m.process;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await exited;
  }

  /** SIGSTOP of member `i` (it holds its sockets and answers nothing). */
  pause(i: number): void {
    this.members[i]!.process?.kill('SIGSTOP');
  }

  resume(i: number): void {
    this.members[i]!.process?.kill('SIGCONT');
  }

  /** Starts member `i` again on its data folder (after `kill`); resolves once it is healthy. */
  async restart(i: number): Promise<void> {
    const m = this.members[i]!;
    await this.kill(i);
    this.#spawn(m);
    await this.waitHealthy(m);
  }

  /** Pids of member processes still alive. */
  alive(): number[] {
    return this.members.flatMap((m) => (m.process && m.process.exitCode === null && m.process.signalCode === null && m.process.pid !== undefined ? [m.process.pid] : []));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (let i = 0; i < this.members.length; i++) await this.kill(i);
    rmSync(this.#root, { recursive: true, force: true });
    const left = this.alive();
    if (left.length > 0) throw new Error(`etcd members still running after close: ${left.join(', ')}`);
  }
}
