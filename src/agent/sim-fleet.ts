/**
 * `muster sim`: a fleet of simulated agents for scale tests and benchmarks. N nodes spread over sites,
 * multiplexed over a few WebSocket connections (each an `AgentLink`), heartbeating like real agents.
 * Tasks do not run: each "runs" for its requested duration and then succeeds (or fails, if asked to):
 *
 * - `MUSTER_SIM_DURATION` in the task's env (a duration: `30s`, `500ms`), else
 * - the seconds of a `sleep N` command, else
 * - no time at all.
 *
 * `MUSTER_SIM_EXIT=N` in the env makes the attempt end with exit code N (non-zero: failed).
 *
 * Like a real agent, each connection keeps its nodes' ends until the server acknowledges them (the link does)
 * and keeps the server's fence: a connection with no contact for `fenceMs` ends every simulated attempt of
 * its nodes as `lost` (reason `fenced: …`), reported once the server is back. There is no shim and no
 * journal: a simulated attempt lives in this process only.
 */
import type { Logger } from '../log/index.js';
import { parseDuration } from '../model/index.js';
import type { AttemptId, KillCommand, LinkOwner, RunningAttempt, StartCommand } from './link.js';
import { AgentLink } from './link.js';

export interface SimFleetOptions {
  readonly endpoints: readonly string[];
  readonly token: string;
  readonly nodes: number;
  readonly sites: readonly string[];
  /** WebSocket connections to spread the nodes over. */
  readonly connections: number;
  /** Each node's capacity (written form). Default 16 cores, 64 GiB. */
  readonly capacity?: Readonly<Record<string, unknown>>;
  /** Node names are `PREFIX-SITE-I`. Default `sim`. */
  readonly prefix?: string;
  /** Heartbeat at this interval instead of the server's (load tests). */
  readonly heartbeatMs?: number;
  readonly log: Logger;
}

interface SimAttempt extends RunningAttempt {
  readonly timer: NodeJS.Timeout | undefined;
}

export interface FleetStats {
  readonly nodes: number;
  readonly started: number;
  readonly ended: number;
  readonly running: number;
}

/** How long a simulated attempt runs (see the file comment). */
export function simulatedDuration(command: Pick<StartCommand, 'command' | 'args' | 'shell' | 'env'>): number {
  const asked = command.env['MUSTER_SIM_DURATION'];
  if (asked !== undefined) {
    const parsed = parseDuration(asked);
    if (parsed.ok) return parsed.value;
  }
  const words = command.shell ? command.command.trim().split(/\s+/) : [command.command, ...command.args];
  if (words[0]?.endsWith('sleep') && words[1] !== undefined) {
    const seconds = Number(words[1]);
    if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  }
  return 0;
}

export class SimFleet {
  readonly #o: SimFleetOptions;
  readonly #links: AgentLink[] = [];
  /** The nodes each link carries, by link index. */
  readonly #linkNodes: string[][] = [];
  readonly #running = new Map<string, Map<string, SimAttempt>>();
  #started = 0;
  #ended = 0;

  constructor(options: SimFleetOptions) {
    this.#o = options;
  }

  /** Node names, in the order they were spread over sites. */
  readonly names: string[] = [];

  /** Connects every link; resolves once each has connected (they keep trying until then, and reconnect after). */
  async start(): Promise<void> {
    const { connections, nodes, sites } = this.#o;
    for (let c = 0; c < Math.max(1, Math.min(connections, nodes)); c++) {
      this.#links.push(
        new AgentLink({
          endpoints: this.#o.endpoints,
          token: this.#o.token,
          log: this.#o.log,
          owner: this.#owner(c),
          ...(this.#o.heartbeatMs !== undefined ? { heartbeatMs: this.#o.heartbeatMs } : {}),
        }),
      );
      this.#linkNodes.push([]);
    }
    for (let i = 0; i < nodes; i++) {
      const site = sites[i % sites.length]!;
      const name = `${this.#o.prefix ?? 'sim'}-${site}-${i}`;
      this.names.push(name);
      this.#running.set(name, new Map());
      this.#linkNodes[i % this.#links.length]!.push(name);
      this.#links[i % this.#links.length]!.addNode({ name, site, capacity: this.#o.capacity ?? { cpu: '16', memory: '64Gi' }, labels: { sim: 'true' } });
    }
    await Promise.all(this.#links.map((l) => l.open()));
  }

  stats(): FleetStats {
    let running = 0;
    for (const m of this.#running.values()) running += m.size;
    return { nodes: this.names.length, started: this.#started, ended: this.#ended, running };
  }

  stop(): void {
    for (const attempts of this.#running.values()) for (const a of attempts.values()) clearTimeout(a.timer);
    for (const link of this.#links) link.close();
  }

  #owner(index: number): LinkOwner {
    const link = (): AgentLink => this.#links[index]!;
    return {
      running: (node) => [...(this.#running.get(node)?.values() ?? [])].map(({ job, task, attempt, epoch }) => ({ job, task, attempt, epoch })),
      start: (command) => this.#start(link(), command),
      kill: (command) => this.#kill(link(), command),
      fenced: ({ fenceMs, silentMs }) => this.#fence(link(), this.#linkNodes[index]!, `fenced: no contact with the control plane for ${silentMs} ms (the fence is ${fenceMs} ms)`),
    };
  }

  /** The fence of one connection ran out: every simulated attempt of its nodes ends as lost. */
  #fence(link: AgentLink, nodes: readonly string[], reason: string): void {
    for (const node of nodes) {
      const attempts = this.#running.get(node)!;
      for (const a of attempts.values()) {
        clearTimeout(a.timer);
        this.#ended++;
        link.ended(node, { job: a.job, task: a.task, attempt: a.attempt, outcome: 'lost', reason });
      }
      attempts.clear();
    }
  }

  #start(link: AgentLink, c: StartCommand): void {
    const attempts = this.#running.get(c.node);
    if (!attempts) return;
    const key = `${c.job}#${c.task}`;
    if (attempts.get(key)?.attempt === c.attempt) return;
    const exit = Number(c.env['MUSTER_SIM_EXIT'] ?? 0);
    const timer = setTimeout(() => {
      if (attempts.get(key)?.attempt !== c.attempt) return;
      attempts.delete(key);
      this.#ended++;
      link.ended(c.node, { job: c.job, task: c.task, attempt: c.attempt, outcome: exit === 0 ? 'succeeded' : 'failed', exitCode: exit });
    }, simulatedDuration(c));
    attempts.set(key, { job: c.job, task: c.task, attempt: c.attempt, epoch: c.epoch, timer });
    this.#started++;
    link.started(c.node, c);
  }

  #kill(link: AgentLink, c: KillCommand | (AttemptId & { readonly node: string; readonly reason: 'reconcile' })): void {
    const attempts = this.#running.get(c.node);
    const key = `${c.job}#${c.task}`;
    const live = attempts?.get(key);
    if (!attempts || !live || live.attempt !== c.attempt) return;
    clearTimeout(live.timer);
    attempts.delete(key);
    this.#ended++;
    // A reconciliation kill reports nothing (the server has replaced the attempt); other kills report.
    if (c.reason !== 'reconcile') link.ended(c.node, { job: c.job, task: c.task, attempt: c.attempt, outcome: c.reason === 'timeout' ? 'timeout' : 'killed' });
  }
}
