/**
 * The chaos run's cluster, all real processes: three etcd members (test/helpers/etcd-cluster.ts), three
 * `muster server --etcd` replicas on ports fixed for the whole run (a killed replica comes back on its port
 * and data folder, so every endpoint list stays valid), and real `muster agent` processes given every
 * replica's URL, each with a few cores, running marker tasks (test/faults/marker-task.ts) whose flocks prove
 * double runs from the kernel's side and whose start markers carry the start's epoch.
 *
 * The replicas keep the HA liveness default (a node is lost after 15 s, the agents' fence is just under it):
 * that is what lets a failover pass without rescheduling anything. One token file holds the admin token and
 * an agent token naming the `chaos-*` nodes. Everything lives under the replica set's scratch folder, so
 * "no process is left" is "no live process names that folder" (test/faults/processes.ts).
 *
 * Every wait is on state (the replicas' `GET /v1/leader` and `/readyz`, the members' `/health`, the nodes'
 * states, the markers, /proc) with a deadline that only bounds a failure.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EtcdCluster, freePort } from '../helpers/etcd-cluster.js';
import { until } from '../helpers/until.js';
import { LEVEL_ERROR, MusterChild } from '../server/muster-child.js';
import type { MarkerFolders } from '../faults/marker-task.js';
import type { NamedProcess } from '../faults/processes.js';
import { leftoversOf, processState } from '../faults/processes.js';
import type { Registration } from './chaos-checks.js';
import { ADMIN, ReplicaSet, probe, socketsOnPort } from './replica-fixture.js';

export { ADMIN as CHAOS_ADMIN };

const AGENT_TOKEN = 'chaos-agent-token-0123456789abcdef';
/** Node names the agent token may register. */
const NODE_PREFIX = 'chaos-';
/** The etcd prefix the replicas use (the server's default). */
export const CHAOS_ETCD_PREFIX = '/muster';

/**
 * The replicas' config. Snapshots every 20 s or 2,000 events, so leaders snapshot and compact the log in
 * etcd several times a run and faults land in them too; finished jobs and their keys are kept for a day, so
 * the final checks find every job of even a long campaign. No liveness is given: the HA default applies.
 */
const REPLICA_CONFIG = {
  workers: 1,
  sites: ['local'],
  snapshot: { everyEvents: 2_000, everySeconds: 20 },
  retention: { maxAge: '24h', keyWindow: '24h' },
} as const;

/** SIGTERM → SIGKILL grace of the agents' kills: short, the marker tasks do not clean up. */
const AGENT_GRACE = '500ms';
/** Starting a process and seeing it listen, register or stop: only a failure takes this long. */
const PROCESS_DEADLINE_MS = 60_000;
/** A clean stop: the agents kill their tasks within their grace, a replica stops its term; this bounds a failure. */
const STOP_DEADLINE_MS = 30_000;
/** After the clean stop everything exits at once; this bounds the search for leftovers. */
const LEFTOVER_DEADLINE_MS = 15_000;

export interface ReplicaSlot {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  child: MusterChild;
  /** SIGSTOPped by the run (and not continued yet). */
  paused: boolean;
}

interface AgentSlot {
  readonly name: string;
  readonly node: string;
  readonly work: string;
  readonly child: MusterChild;
}

/** One replica's `GET /v1/leader` (status 0: it did not answer). */
export interface ReplicaView {
  readonly slot: ReplicaSlot;
  readonly status: number;
  readonly role?: string;
  readonly leader?: string | null;
  readonly epoch?: number | null;
}

/** The leader all replicas agree on. */
export interface LeaderInfo {
  readonly slot: ReplicaSlot;
  readonly epoch: number;
}

export interface ChaosClusterOptions {
  readonly agents: readonly { readonly name: string; readonly cpu: number }[];
}

/** A start marker as the cluster's progress waits read it: cheap, incremental (the checks read them whole). */
interface StartSeen {
  readonly startNs: bigint;
  readonly epoch: number | undefined;
}

export class ChaosCluster {
  readonly etcd: EtcdCluster;
  readonly replicas: ReplicaSet;
  readonly slots: ReplicaSlot[] = [];
  readonly agents: AgentSlot[] = [];
  readonly folders: MarkerFolders;
  readonly notes: string[] = [];
  readonly #starts = new Map<string, StartSeen>();
  readonly #leftSockets: number[] = [];
  #closed = false;

  private constructor(etcd: EtcdCluster, replicas: ReplicaSet) {
    this.etcd = etcd;
    this.replicas = replicas;
    this.folders = { markers: join(replicas.root, 'markers'), locks: join(replicas.root, 'locks') };
    for (const dir of [this.folders.markers, this.folders.locks]) mkdirSync(dir);
  }

  get root(): string {
    return this.replicas.root;
  }

  get urls(): string[] {
    return this.slots.map((s) => s.url);
  }

  /** etcd, then r1 (it leads), then r2 and r3 (standbys), then the agents, each registered and ready. */
  static async start(options: ChaosClusterOptions): Promise<ChaosCluster> {
    const etcd = await EtcdCluster.start({ members: 3 });
    let cluster: ChaosCluster | undefined;
    try {
      const replicas = new ReplicaSet(etcd.endpoints, { config: REPLICA_CONFIG, tokens: [{ token: AGENT_TOKEN, tenant: 'ops', role: 'agent', nodes: [`${NODE_PREFIX}*`] }] });
      cluster = new ChaosCluster(etcd, replicas);
      const ports = [await freePort(), await freePort(), await freePort()];
      const first = await cluster.#startReplica('r1', ports[0]!);
      await first.child.line(/^ready: /);
      await Promise.all([cluster.#startReplica('r2', ports[1]!), cluster.#startReplica('r3', ports[2]!)]);
      await cluster.waitAgreed();
      for (const spec of options.agents) cluster.#startAgent(spec.name, spec.cpu);
      await cluster.waitNodesReady();
      return cluster;
    } catch (err) {
      if (cluster) await cluster.close();
      else await etcd.close();
      throw err;
    }
  }

  async #startReplica(name: string, port: number): Promise<ReplicaSlot> {
    const { child, url } = await this.replicas.start(name, port);
    const existing = this.slots.find((s) => s.name === name);
    if (existing) {
      if (url !== existing.url) throw new Error(`replica ${name} came back on ${url}, not ${existing.url}`);
      existing.child = child;
      existing.paused = false;
      return existing;
    }
    const slot: ReplicaSlot = { name, port, url, child, paused: false };
    this.slots.push(slot);
    return slot;
  }

  #startAgent(name: string, cpu: number): void {
    const node = `${NODE_PREFIX}${name}`;
    const work = join(this.root, 'agents', name);
    mkdirSync(work, { recursive: true });
    const child = new MusterChild(
      ['agent', '--server', this.urls.join(','), '--token', AGENT_TOKEN, '--name', node, '--cpu', String(cpu), '--memory', '2Gi', '--work-dir', work, '--grace', AGENT_GRACE],
      { MUSTER_LOG_LEVEL: 'info' },
    );
    this.agents.push({ name, node, work, child });
  }

  // ── views and waits ──────────────────────────────────────────────────────────────────────────────────

  /** What each replica that runs and is not paused says of the leader. */
  async views(slots: readonly ReplicaSlot[] = this.slots): Promise<ReplicaView[]> {
    return Promise.all(
      slots
        .filter((s) => s.child.running && !s.paused)
        .map(async (slot): Promise<ReplicaView> => {
          const r = await probe(slot.url, '/v1/leader');
          return r.status === 200 ? { slot, status: 200, role: r.body.role, leader: r.body.leader, epoch: r.body.epoch } : { slot, status: r.status };
        }),
    );
  }

  /** The leader if every replica runs, answers, and names the same one, which says it leads and is ready. */
  async agreedLeader(): Promise<LeaderInfo | undefined> {
    if (this.slots.some((s) => !s.child.running || s.paused)) return undefined;
    const views = await this.views();
    const leaders = views.filter((v) => v.role === 'leader');
    if (views.length !== this.slots.length || views.some((v) => v.status !== 200) || leaders.length !== 1) return undefined;
    const leader = leaders[0]!;
    if (typeof leader.epoch !== 'number' || views.some((v) => v.leader !== leader.slot.url || v.epoch !== leader.epoch)) return undefined;
    const ready = await probe(leader.slot.url, '/readyz');
    return ready.status === 200 ? { slot: leader.slot, epoch: leader.epoch } : undefined;
  }

  async waitAgreed(deadlineMs = PROCESS_DEADLINE_MS): Promise<LeaderInfo> {
    return (await until('every replica to agree on one leader that is ready', () => this.agreedLeader(), (l) => l !== undefined, deadlineMs, () => this.describe())) as LeaderInfo;
  }

  /**
   * Waits until a replica other than `not` leads under an epoch above `above` and is ready (what the others
   * say is not waited for: the moment a new leader serves). Paused and killed replicas are not asked.
   */
  async waitNewLeader(not: ReplicaSlot, above: number, deadlineMs = PROCESS_DEADLINE_MS): Promise<LeaderInfo> {
    const read = async (): Promise<LeaderInfo | undefined> => {
      const views = await this.views(this.slots.filter((s) => s !== not));
      const v = views.find((x) => x.role === 'leader' && typeof x.epoch === 'number' && x.epoch > above);
      if (!v) return undefined;
      return (await probe(v.slot.url, '/readyz')).status === 200 ? { slot: v.slot, epoch: v.epoch as number } : undefined;
    };
    return (await until(`a replica other than ${not.name} to lead above epoch ${above} and serve`, read, (l) => l !== undefined, deadlineMs, () => this.describe())) as LeaderInfo;
  }

  /** Waits until `slot` answers as a standby that names `leader` (after a restart, or a pause it must step down from). */
  async waitStandby(slot: ReplicaSlot, leader: LeaderInfo, deadlineMs = PROCESS_DEADLINE_MS): Promise<void> {
    await until(
      `${slot.name} to be a standby naming ${leader.slot.name} (epoch ${leader.epoch})`,
      async () => (await this.views([slot]))[0],
      (v) => v?.status === 200 && v.role === 'standby' && v.leader === leader.slot.url && v.epoch === leader.epoch,
      deadlineMs,
      () => this.describe(),
    );
  }

  /** Waits until every agent's node is `ready` on the leader. */
  async waitNodesReady(deadlineMs = PROCESS_DEADLINE_MS): Promise<void> {
    const nodes = this.agents.map((a) => a.node);
    await until(
      `nodes ${nodes.join(', ')} to be ready on the leader`,
      async () => {
        const leader = await this.agreedLeader();
        if (!leader) return 'no agreed leader';
        const r = await probe(leader.slot.url, '/v1/nodes');
        if (r.status !== 200) return `GET /v1/nodes: ${r.status}`;
        const states = new Map((r.body.nodes as { name: string; state: string }[]).map((n) => [n.name, n.state]));
        return nodes.map((n) => `${n}=${states.get(n) ?? 'absent'}`).join(' ');
      },
      (s) => nodes.every((n) => s.includes(`${n}=ready`)),
      deadlineMs,
      () => this.describe(),
    );
  }

  /** The start markers written so far (read once each: a start marker is written once). */
  #scanStarts(): Map<string, StartSeen> {
    for (const file of readdirSync(this.folders.markers)) {
      if (!file.endsWith('.start') || this.#starts.has(file)) continue;
      const m = /^\d+ (\d+) (?:alone|overlap) \S+ (\d+|-) \//.exec(readFileSync(join(this.folders.markers, file), 'utf8'));
      if (m) this.#starts.set(file, { startNs: BigInt(m[1]!), epoch: m[2] === '-' ? undefined : Number(m[2]) });
    }
    return this.#starts;
  }

  /** Waits until some task started after `sinceNs` (wall clock) under epoch `epoch` or a newer one. */
  async waitStartUnder(epoch: number, sinceNs: bigint, deadlineMs = PROCESS_DEADLINE_MS): Promise<void> {
    await until(
      `a task to start under epoch ${epoch}`,
      async () => [...this.#scanStarts().values()].some((s) => s.startNs > sinceNs && s.epoch !== undefined && s.epoch >= epoch),
      (x) => x,
      deadlineMs,
      () => this.describe(),
    );
  }

  /** Every etcd member healthy (each waited for in turn). */
  async waitEtcdHealthy(): Promise<void> {
    for (const m of this.etcd.members) await this.etcd.waitHealthy(m, PROCESS_DEADLINE_MS);
  }

  // ── faults ───────────────────────────────────────────────────────────────────────────────────────────

  async killReplica(slot: ReplicaSlot): Promise<void> {
    slot.child.signal('SIGCONT');
    await slot.child.kill();
    slot.paused = false;
  }

  /**
   * Starts the replica again on its port and data folder, at once; resolves once it listens. Sockets the
   * killed process left on the port (TIME_WAIT) are noted: the restart is expected to listen regardless.
   */
  async restartReplica(slot: ReplicaSlot): Promise<void> {
    if (slot.child.running) throw new Error(`replica ${slot.name} is running`);
    const left = socketsOnPort(slot.port);
    if (left.length > 0) this.#leftSockets.push(left.length);
    await this.#startReplica(slot.name, slot.port);
  }

  /** How many restarts found sockets of the killed process still on its port, and how many there were. */
  get restartsOverLeftSockets(): { restarts: number; sockets: number } {
    return { restarts: this.#leftSockets.length, sockets: this.#leftSockets.reduce((a, b) => a + b, 0) };
  }

  /** SIGSTOP; resolves once the process is stopped. */
  async pauseReplica(slot: ReplicaSlot): Promise<void> {
    slot.paused = true;
    slot.child.signal('SIGSTOP');
    await until(`${slot.name} to be stopped`, async () => processState(slot.child.pid!), (s) => s === 'T', PROCESS_DEADLINE_MS);
  }

  resumeReplica(slot: ReplicaSlot): void {
    slot.child.signal('SIGCONT');
    slot.paused = false;
  }

  // ── what the processes said ─────────────────────────────────────────────────────────────────────────

  /** Every `registered` line the agents logged: the epoch each node was told, and when. */
  registrations(): Registration[] {
    return this.agents.flatMap((a) =>
      a.child.logs.filter((l) => l.msg === 'registered' || l.msg.startsWith('registered (')).map((l) => ({ node: String(l['node'] ?? a.node), epoch: Number(l['epoch']), atMs: Number(l['time']) })),
    );
  }

  /** Lines at error or above, from every replica process (every incarnation) and agent. */
  errorLogs(): string[] {
    const lines: string[] = [];
    this.replicas.children.forEach((c, i) => {
      for (const l of c.logs) if (l.level >= LEVEL_ERROR) lines.push(`replica process ${i + 1} (pid ${c.pid}): ${l.msg}${l['err'] ? ` ${JSON.stringify(l['err']).slice(0, 300)}` : ''}`);
    });
    for (const a of this.agents) for (const l of a.child.logs) if (l.level >= LEVEL_ERROR) lines.push(`agent ${a.name}: ${l.msg}`);
    return lines;
  }

  /** The new leader's own account of its takeover: `took over in N ms` for that epoch. */
  tookOverMs(slot: ReplicaSlot, epoch: number): number | undefined {
    const line = slot.child.logs.find((l) => l['epoch'] === epoch && typeof l['ms'] === 'number' && l.msg.startsWith('leading'));
    return line ? (line['ms'] as number) : undefined;
  }

  /**
   * Writes every process's log lines (JSON, as they were logged) into `dir`: one file per replica process
   * (every incarnation, numbered in start order) and per agent, for reading a finding after the run.
   */
  writeLogs(dir: string): void {
    mkdirSync(dir, { recursive: true });
    const lines = (c: MusterChild): string => [...c.logs.map((l) => JSON.stringify(l)), ...c.notes].join('\n') + '\n';
    this.replicas.children.forEach((c, i) => writeFileSync(join(dir, `replica-${i + 1}-pid${c.pid}.log`), lines(c)));
    for (const a of this.agents) writeFileSync(join(dir, `agent-${a.name}.log`), lines(a.child));
    writeFileSync(join(dir, 'replicas.txt'), this.slots.map((s) => `${s.name} ${s.url}`).join('\n') + '\n');
  }

  /** One line per process, for a failed wait's message. */
  describe(): string {
    const replica = (s: ReplicaSlot): string => `${s.name} ${s.url} pid ${s.child.pid} ${s.child.running ? (s.paused ? 'paused' : 'running') : 'exited'}; last: ${s.child.logs.slice(-4).map((l) => l.msg).join(' | ')}`;
    const agent = (a: AgentSlot): string => `${a.name} ${a.child.running ? 'running' : 'exited'}; last: ${a.child.logs.slice(-4).map((l) => l.msg).join(' | ')}`;
    return [...this.slots.map(replica), ...this.agents.map(agent), `etcd alive: ${this.etcd.alive().length} of ${this.etcd.members.length}`].join('\n');
  }

  // ── the end ──────────────────────────────────────────────────────────────────────────────────────────

  /**
   * The clean stop: the agents (SIGTERM: they kill their tasks and report them), then the standbys, then the
   * leader, each expected to exit 0; then etcd. Returns what a process did wrong on its way out, and what
   * still names the run's folder afterwards (SIGKILLed by pid, so a failed run leaves nothing either).
   */
  async stop(): Promise<{ exits: string[]; leftovers: NamedProcess[] }> {
    const exits: string[] = [];
    const stop = async (child: MusterChild, who: string): Promise<void> => {
      if (!child.running) return;
      child.signal('SIGCONT');
      child.signal('SIGTERM');
      const timer = setTimeout(() => child.signal('SIGKILL'), STOP_DEADLINE_MS);
      const { code, signal } = await child.exited;
      clearTimeout(timer);
      if (code !== 0) exits.push(`${who} exited with ${code ?? signal} on SIGTERM`);
    };
    await Promise.all(this.agents.map((a) => stop(a.child, `agent ${a.name}`)));
    const leader = await this.agreedLeader().catch(() => undefined);
    const standbys = this.slots.filter((s) => s !== leader?.slot);
    await Promise.all(standbys.map((s) => stop(s.child, `replica ${s.name}`)));
    if (leader) await stop(leader.slot.child, `replica ${leader.slot.name} (the leader)`);
    await this.etcd.close();
    return { exits, leftovers: await leftoversOf(this.root, LEFTOVER_DEADLINE_MS) };
  }

  /** Kills whatever still runs and removes the folder; safe to call twice, and after `stop`. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const a of this.agents) {
      a.child.signal('SIGCONT');
      await a.child.kill();
    }
    for (const s of this.slots) s.child.signal('SIGCONT');
    await leftoversOf(this.root, 0);
    await this.etcd.close();
    await this.replicas.close();
  }
}
