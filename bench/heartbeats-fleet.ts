/**
 * A simulated fleet in a process of its own: `muster sim` from the built CLI (bin/muster.js), so the
 * agents share no event loop with the server under test or with the benchmark that watches both.
 *
 * What the fleet offers is measured, not assumed from its interval: every heartbeat round is one
 * WebSocket frame per connection, and every few rounds a ping follows it (nothing else flows once the
 * nodes have registered and no job runs), so the bytes the process has written (/proc/PID/io) divided by
 * the bytes of one round (its share of a ping included), times the nodes, are the heartbeats it has put on
 * the wire.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { pack } from 'msgpackr';
import { MUSTER, ROOT } from '../test/client/server-process.js';
import { resolveLiveness } from '../src/scheduler/index.js';
import { processWrittenBytes } from './heartbeats-probe.js';

/** How long a fleet may take to connect its first connection before the benchmark gives up on it. */
const CONNECT_TIMEOUT_MS = 30_000;

/** How long a fleet may take to close its connections and exit on SIGTERM before it is killed. */
const STOP_TIMEOUT_MS = 5_000;

/**
 * The payload of the ping a connection sends after a heartbeat frame (src/agent/link.ts: a monotonic
 * timestamp, 8 bytes). Beside a heartbeat frame of one node it is a third of a round's bytes.
 */
const PING_PAYLOAD_BYTES = 8;

/**
 * Heartbeat rounds per ping, as src/agent/link.ts schedules pings (`pingMs`: the heartbeat's interval, but
 * at least a second or a quarter of the fence when that is shorter; a ping goes once `pingMs` less half a
 * tick has passed). Should the two part, the benchmark's own check that the server took in what the
 * fleet offered fails loudly.
 */
export function roundsPerPing(heartbeatMs: number, fenceMs: number): number {
  const pingMs = Math.max(heartbeatMs, Math.min(1_000, Math.floor(fenceMs / 4)));
  return Math.max(1, Math.ceil((pingMs - heartbeatMs / 2) / heartbeatMs));
}

/** The site every benchmark node is on (the server's default, and only, site). */
export const FLEET_SITE = 'local';

export interface FleetOptions {
  readonly server: string;
  readonly token: string;
  readonly nodes: number;
  readonly connections: number;
  /** Node names are `PREFIX-local-I`. */
  readonly prefix: string;
  /** Heartbeat interval; absent: the server's (the default liveness's, in every benchmark). */
  readonly heartbeatMs?: number;
}

/** The server's timing the benchmarks run with (no `liveness` key): what the agents' pings follow. */
const SERVER_LIVENESS = resolveLiveness({}).options;

/** Bytes of one client (masked) WebSocket frame with a payload of `payload` bytes: header, length, mask. */
function clientFrameBytes(payload: number): number {
  const lengthBytes = payload > 0xffff ? 8 : payload > 125 ? 2 : 0;
  return 2 + lengthBytes + 4 + payload;
}

/**
 * The bytes a fleet writes for one heartbeat round: on each connection, one client WebSocket frame holding
 * `{ kind: 'heartbeat', nodes }` for the nodes on it (spread round robin as `muster sim` spreads them,
 * src/agent/sim-fleet.ts), and its share of the ping that follows every `roundsPerPing` rounds.
 */
export function heartbeatRoundBytes(options: Pick<FleetOptions, 'nodes' | 'connections' | 'prefix' | 'heartbeatMs'>): number {
  const links = Math.max(1, Math.min(options.connections, options.nodes));
  const pingShare = clientFrameBytes(PING_PAYLOAD_BYTES) / roundsPerPing(options.heartbeatMs ?? SERVER_LIVENESS.heartbeatMs, SERVER_LIVENESS.fenceMs);
  let bytes = 0;
  for (let link = 0; link < links; link++) {
    const nodes: string[] = [];
    for (let i = link; i < options.nodes; i += links) nodes.push(`${options.prefix}-${FLEET_SITE}-${i}`);
    bytes += clientFrameBytes(pack({ kind: 'heartbeat', nodes }).length) + pingShare;
  }
  return bytes;
}

/** A fleet's own counts of simulated attempts. */
export interface FleetCounts {
  readonly started: number;
  readonly ended: number;
  readonly running: number;
}

export class FleetProcess {
  readonly options: FleetOptions;
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  #stderr = '';
  /** Called with each `sim: started S, ended E, running R` line (printed every 5 s). */
  readonly #countWaiters = new Set<(counts: FleetCounts) => void>();

  private constructor(options: FleetOptions, child: ChildProcess) {
    this.options = options;
    this.#child = child;
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.stderr?.on('data', (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString()).slice(-4096);
    });
  }

  /** Starts `muster sim` and resolves once it says it is connected (its nodes are then registering). */
  static async start(options: FleetOptions): Promise<FleetProcess> {
    const args = [MUSTER, 'sim', '--server', options.server, '--token', options.token, '--nodes', String(options.nodes), '--connections', String(options.connections), '--prefix', options.prefix, '--sites', FLEET_SITE];
    if (options.heartbeatMs !== undefined) args.push('--heartbeat', String(options.heartbeatMs));
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const fleet = new FleetProcess(options, child);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`muster sim (${options.prefix}) not connected after ${CONNECT_TIMEOUT_MS} ms: ${fleet.#stderr}`)), CONNECT_TIMEOUT_MS);
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const counts = /^sim: started (\d+), ended (\d+), running (\d+)$/.exec(line);
        if (counts) for (const w of fleet.#countWaiters) w({ started: Number(counts[1]), ended: Number(counts[2]), running: Number(counts[3]) });
        if (!/^sim: \d+ nodes connected/.test(line)) return;
        clearTimeout(timer);
        resolve();
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`muster sim (${options.prefix}) exited (${code ?? signal}) before it connected: ${fleet.#stderr}`));
      });
    });
    return fleet;
  }

  get pid(): number {
    return this.#child.pid!;
  }

  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /**
   * Heartbeats put on the wire so far (see the file comment). The registrations count too: only the
   * difference of two readings taken once every node has registered is exact.
   */
  heartbeatsWritten(): number {
    return (processWrittenBytes(this.pid) / heartbeatRoundBytes(this.options)) * this.options.nodes;
  }

  /**
   * The attempts the fleet has started and ended so far, as it next prints them (every 5 s): a count
   * kept by the agents themselves, to hold against what the server says ran.
   */
  nextCounts(timeoutMs: number): Promise<FleetCounts> {
    return new Promise((resolve, reject) => {
      const done = (counts: FleetCounts): void => {
        clearTimeout(timer);
        this.#countWaiters.delete(done);
        resolve(counts);
      };
      const timer = setTimeout(() => {
        this.#countWaiters.delete(done);
        reject(new Error(`muster sim (${this.options.prefix}) printed no counts in ${timeoutMs} ms`));
      }, timeoutMs);
      this.#countWaiters.add(done);
    });
  }

  /** SIGKILL, as a crash of every agent in it: the kernel closes its connections, nothing says goodbye. */
  async kill(): Promise<void> {
    if (this.running) this.#child.kill('SIGKILL');
    await this.#exited;
  }

  /** SIGTERM (the agents close their connections), then SIGKILL if it has not exited in time. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await this.#exited;
    clearTimeout(timer);
  }
}
