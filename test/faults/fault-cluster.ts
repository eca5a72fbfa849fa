/**
 * A small real cluster for agent fault runs, all under one scratch folder: a `muster server` process
 * (dist/, its config file giving short liveness timings and an agent token that names its nodes), real
 * `muster agent` processes (each with its own work folder, each reaching the server through its own
 * Relay so its link can be cut), an admin client that submits marker jobs (marker-task.ts) and records
 * every job event from a watch opened before the first job. Faults are methods: SIGKILL and restart an
 * agent, SIGSTOP/SIGCONT an agent or the server, cut and mend an agent's link.
 *
 * `finish()` waits until every job has ended, checks the run (findings.ts), stops everything cleanly and
 * then looks for anything left behind (processes.ts): what it returns is the run's report. Waits poll real
 * state (events received, /proc, the server's views) with generous deadlines that only bound a failure.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobEvent, JobView, MusterClient, Watch } from '../../src/client/index.js';
import { createClient } from '../../src/client/index.js';
import { resolveLiveness } from '../../src/scheduler/index.js';
import { until } from '../helpers/until.js';
import { LEVEL_ERROR, MusterChild } from '../server/muster-child.js';
import type { Findings } from './findings.js';
import { findings } from './findings.js';
import type { AttemptRecord, MarkerFolders, MarkerJob } from './marker-task.js';
import { markerJobSpec, readAttempts } from './marker-task.js';
import type { NamedProcess } from './processes.js';
import { leftoversOf, processesNaming, processGone, processState } from './processes.js';
import { Relay } from './relay.js';

/**
 * Short liveness, so a fault run takes seconds: a node is suspect after 1 s of silence and lost after
 * 2.5 s; the agents' fence follows (resolveLiveness: 2.5 s less a quarter, 1,875 ms). Heartbeats every
 * 250 ms leave a busy agent on a loaded machine three chances before it is suspected of anything.
 */
export const FAULT_LIVENESS = { heartbeatMs: 250, suspectAfterMs: 1_000, lostAfterMs: 2_500 } as const;
export const FAULT_FENCE_MS = resolveLiveness(FAULT_LIVENESS).options.fenceMs;

/** SIGTERM → SIGKILL grace of the agents' kills: short, since the marker tasks do not clean up. */
const AGENT_GRACE = '500ms';

/** Waiting for a process to start, register, stop or exit: only a failure takes this long. */
const PROCESS_DEADLINE_MS = 30_000;
/** Waiting for every job of a run to end, faults and retries included. */
const JOBS_DEADLINE_MS = 90_000;
/**
 * Once every job has ended no task may run; a replaced attempt on a node heard from again is killed with
 * the agents' grace, one the server never heard of again at its fence: both are far inside this.
 */
const TASKS_GONE_DEADLINE_MS = 10_000;
/** After the clean stop, the shims and agents exit within the agents' grace; this bounds a failure. */
const LEFTOVER_DEADLINE_MS = 15_000;

const ADMIN_TOKEN = 'faults-admin-token-0000000';
const AGENT_TOKEN = 'faults-agent-token-0000000';
/** Node names the agent token may register (PROTOCOL.md, Auth). */
const NODE_PREFIX = 'fault-';

export interface AgentSpec {
  /** Without the `fault-` prefix: `a1` is node `fault-a1`. */
  readonly name: string;
  /** Cores offered; each marker task asks for one. */
  readonly cpu: number;
  /** Not started with the cluster: a spare that a fault run starts (`startAgent`) when it wants free room. */
  readonly spare?: boolean;
}

export interface ClusterOptions {
  /** Names the scratch folder (`muster-faults-LABEL-…`). */
  readonly label: string;
  readonly agents: readonly AgentSpec[];
}

/** What a run found: the findings, and what was still running when nothing should have been. */
export interface RunReport {
  readonly label: string;
  readonly jobs: number;
  readonly attempts: number;
  readonly findings: Findings;
  /** Task processes alive once every job had ended (and the kill grace and fence had passed). */
  readonly tasksAfterEnd: readonly NamedProcess[];
  /** Processes naming the scratch folder after the clean stop (they are then SIGKILLed, by pid). */
  readonly leftovers: readonly NamedProcess[];
  /** What a fault itself must show and did not (e.g. a task still running when its node was declared lost). */
  readonly faultFindings: readonly string[];
  /** Lines at error or above that the server or an agent logged. */
  readonly errorLogs: readonly string[];
  readonly notes: readonly string[];
  readonly seconds: number;
}

interface AgentSlot {
  readonly spec: AgentSpec;
  readonly node: string;
  readonly work: string;
  readonly relay: Relay;
  child: MusterChild | undefined;
}

export class FaultCluster {
  readonly root: string;
  readonly folders: MarkerFolders;
  readonly client: MusterClient;
  readonly events: JobEvent[] = [];
  readonly notes: string[] = [];
  readonly faultFindings: string[] = [];
  readonly #label: string;
  readonly #server: MusterChild;
  readonly #agents = new Map<string, AgentSlot>();
  /** Job name → id. */
  readonly #jobs = new Map<string, string>();
  readonly #errorLogs: string[] = [];
  readonly #started = performance.now();
  #watch: Watch | undefined;
  #watching: Promise<void> | undefined;
  #closed = false;

  private constructor(label: string, root: string, server: MusterChild, url: string) {
    this.#label = label;
    this.root = root;
    this.#server = server;
    this.folders = { markers: join(root, 'markers'), locks: join(root, 'locks') };
    this.client = createClient({ endpoints: url, token: ADMIN_TOKEN, requestTimeoutMs: PROCESS_DEADLINE_MS * 2, connectTimeoutMs: PROCESS_DEADLINE_MS });
  }

  /** The server, then the agents (each registered and ready), then the watch. */
  static async start(options: ClusterOptions): Promise<FaultCluster> {
    const root = mkdtempSync(join(tmpdir(), `muster-faults-${options.label}-`));
    for (const dir of ['markers', 'locks', 'data']) mkdirSync(join(root, dir));
    const config = join(root, 'server.yaml');
    writeFileSync(
      config,
      [
        '# test/faults: a fault run\'s server',
        'sites: [local]',
        'workers: 1',
        'tokens:',
        `  - { token: ${ADMIN_TOKEN}, tenant: default, role: admin }`,
        `  - { token: ${AGENT_TOKEN}, tenant: default, role: agent, nodes: ['${NODE_PREFIX}*'] }`,
        `liveness: ${JSON.stringify(FAULT_LIVENESS)}`,
        '',
      ].join('\n'),
    );
    const server = new MusterChild(['server', '--data', join(root, 'data'), '--port', '0', '--config', config], { MUSTER_LOG_LEVEL: 'warn' });
    let cluster: FaultCluster | undefined;
    try {
      const url = (await server.line(/^url: (\S+)$/))[1]!;
      await server.line(/^ready: /);
      cluster = new FaultCluster(options.label, root, server, url);
      const port = Number(new URL(url).port);
      for (const spec of options.agents) {
        const relay = new Relay(port);
        await relay.listen();
        const slot: AgentSlot = { spec, node: `${NODE_PREFIX}${spec.name}`, work: join(root, 'agents', spec.name), relay, child: undefined };
        mkdirSync(slot.work, { recursive: true });
        cluster.#agents.set(spec.name, slot);
      }
      await Promise.all(options.agents.filter((a) => !a.spare).map((a) => cluster!.startAgent(a.name)));
      await cluster.#watchEvents();
      return cluster;
    } catch (err) {
      if (cluster) await cluster.close();
      else {
        await server.kill();
        rmSync(root, { recursive: true, force: true });
      }
      throw err;
    }
  }

  async #watchEvents(): Promise<void> {
    const watch = this.client.watch({});
    this.#watch = watch;
    this.#watching = (async () => {
      for await (const e of watch) this.events.push(e);
    })().catch((err: Error) => void this.notes.push(`the watch ended: ${err.message}`));
    await watch.ready;
  }

  nodeOf(agent: string): string {
    return this.#slot(agent).node;
  }

  #slot(agent: string): AgentSlot {
    const slot = this.#agents.get(agent);
    if (!slot) throw new Error(`no agent ${agent}`);
    return slot;
  }

  /** Starts (or restarts, on the same work folder) an agent; resolves once its node is ready. */
  async startAgent(agent: string): Promise<void> {
    const slot = this.#slot(agent);
    if (slot.child?.running) throw new Error(`agent ${agent} is running`);
    slot.child = new MusterChild(
      ['agent', '--server', slot.relay.url, '--token', AGENT_TOKEN, '--name', slot.node, '--cpu', String(slot.spec.cpu), '--memory', '2Gi', '--work-dir', slot.work, '--grace', AGENT_GRACE],
      { MUSTER_LOG_LEVEL: 'info' },
    );
    const child = slot.child;
    const said = (): string => `its last log lines:\n${child.logs.slice(-10).map((l) => JSON.stringify(l)).join('\n')}\n${child.notes.slice(0, 20).join('\n')}`;
    const state = await until(`${slot.node} to be ready`, async () => (child.running ? await this.nodeState(agent) : 'exited'), (s) => s === 'ready' || s === 'exited', PROCESS_DEADLINE_MS).catch((err: Error) => {
      throw new Error(`${err.message}; ${said()}`);
    });
    if (state === 'exited') throw new Error(`agent ${agent} exited (${JSON.stringify(await child.exited)}) before its node was ready; ${said()}`);
  }

  /** SIGKILL: a crash; its tasks run on under their shims. Resolves once the process is gone. */
  async killAgent(agent: string): Promise<void> {
    const child = this.#slot(agent).child;
    if (!child) return;
    this.#keepErrors(child, `agent ${agent} (killed)`);
    await child.kill();
  }

  /** SIGTERM: a clean stop (its tasks are killed and reported); resolves once the process has exited. */
  async terminateAgent(agent: string): Promise<void> {
    const child = this.#slot(agent).child;
    if (!child?.running) return;
    child.signal('SIGTERM');
    const { code } = await child.exited;
    this.#keepErrors(child, `agent ${agent} (stopped)`);
    if (code !== 0) this.notes.push(`agent ${agent} exited with ${code} on SIGTERM`);
  }

  /** SIGSTOP; resolves once the process is stopped. */
  async stopAgent(agent: string): Promise<void> {
    const child = this.#slot(agent).child!;
    child.signal('SIGSTOP');
    await until(`agent ${agent} to be stopped`, async () => processState(child.pid!), (s) => s === 'T', PROCESS_DEADLINE_MS);
  }

  continueAgent(agent: string): void {
    this.#slot(agent).child?.signal('SIGCONT');
  }

  async stopServer(): Promise<void> {
    this.#server.signal('SIGSTOP');
    await until('the server to be stopped', async () => processState(this.#server.pid!), (s) => s === 'T', PROCESS_DEADLINE_MS);
  }

  continueServer(): void {
    this.#server.signal('SIGCONT');
  }

  cut(agent: string): void {
    this.#slot(agent).relay.cut();
  }

  mend(agent: string): void {
    this.#slot(agent).relay.mend();
  }

  async submit(jobs: readonly MarkerJob[]): Promise<string[]> {
    const results = await this.client.submit(jobs.map((j) => markerJobSpec(j, this.folders)));
    return results.map((r, i) => {
      if (!r.ok) throw new Error(`job ${jobs[i]!.name} refused: ${r.code} ${r.message}`);
      this.#jobs.set(jobs[i]!.name, r.job);
      return r.job;
    });
  }

  attempts(): AttemptRecord[] {
    return readAttempts(this.folders.markers);
  }

  /** Attempts on the agent's node whose task process is alive now (from their markers and /proc). */
  liveAttemptsOn(agent: string): AttemptRecord[] {
    const node = this.nodeOf(agent);
    return this.attempts().filter((a) => a.node === node && !processGone(a.pid));
  }

  async waitLiveAttempts(agent: string, atLeast: number): Promise<AttemptRecord[]> {
    return until(`${atLeast} attempts to run on ${this.nodeOf(agent)}`, async () => this.liveAttemptsOn(agent), (l) => l.length >= atLeast, PROCESS_DEADLINE_MS).catch(async (err: Error) => {
      const child = this.#slot(agent).child;
      const process = child?.running ? 'running' : `exited ${JSON.stringify(await child?.exited)}`;
      throw new Error(`${err.message}; the node is ${await this.nodeState(agent)}, its agent ${process}`);
    });
  }

  /** Waits until none of these attempts' task processes is alive. */
  async waitGone(attempts: readonly AttemptRecord[], deadlineMs = PROCESS_DEADLINE_MS): Promise<void> {
    await until('the attempts to be gone', async () => attempts.filter((a) => !processGone(a.pid)).map((a) => a.pid), (alive) => alive.length === 0, deadlineMs);
  }

  async nodeState(agent: string): Promise<string | undefined> {
    const node = this.nodeOf(agent);
    return (await this.client.nodes()).find((n) => n.name === node)?.state;
  }

  async waitNodeState(agent: string, state: string): Promise<void> {
    await until(`${this.nodeOf(agent)} to be ${state}`, () => this.nodeState(agent), (s) => s === state, PROCESS_DEADLINE_MS);
  }

  /** Waits until each of these attempts has been given up: its task placed again, or its job ended (no retries left). */
  async waitRetried(attempts: readonly AttemptRecord[]): Promise<void> {
    const givenUp = (a: AttemptRecord): boolean =>
      this.events.some((e) => e.job === a.job && ((e.type === 'placed' && e.task === a.task && (e.attempt ?? 0) > a.attempt) || e.type === 'ended'));
    await until('the attempts to be placed again or their jobs to end', async () => attempts.filter((a) => !givenUp(a)).map((a) => `${a.job}#${a.task}#${a.attempt}`), (left) => left.length === 0, JOBS_DEADLINE_MS);
  }

  /** Waits until every job submitted so far has its `ended` event. */
  async waitAllEnded(): Promise<void> {
    const ids = new Set(this.#jobs.values());
    await until(`${ids.size} jobs to end`, async () => ids.size - new Set(this.events.filter((e) => e.type === 'ended' && ids.has(e.job)).map((e) => e.job)).size, (left) => left === 0, JOBS_DEADLINE_MS);
  }

  /**
   * The run's end: every job ended; no task left running; the findings; then a clean stop of everything and
   * the search for leftovers. Always closes the cluster, even when a wait fails.
   */
  async finish(): Promise<RunReport> {
    try {
      await this.waitAllEnded();
      // Some task processes may still be in their kill grace, or waiting for a fence: allow for both.
      const tasksAfterEnd = await until('every task process to be gone', async () => processesNaming(this.folders.markers), (p) => p.length === 0, TASKS_GONE_DEADLINE_MS).catch(() =>
        processesNaming(this.folders.markers),
      );
      const views = new Map<string, JobView>();
      for await (const view of this.client.allJobs()) views.set(view.id, view);
      const attempts = this.attempts();
      const found = findings(attempts, this.events, views);
      const leftovers = await this.close();
      return {
        label: this.#label,
        jobs: views.size,
        attempts: attempts.length,
        findings: found,
        tasksAfterEnd,
        leftovers,
        faultFindings: this.faultFindings,
        errorLogs: this.#errorLogs,
        notes: this.notes,
        seconds: (performance.now() - this.#started) / 1000,
      };
    } finally {
      await this.close();
    }
  }

  #keepErrors(child: MusterChild, who: string): void {
    for (const line of child.logs) if (line.level >= LEVEL_ERROR) this.#errorLogs.push(`${who}: ${line.msg}`);
  }

  /**
   * Stops everything (agents, then the server: SIGCONT first, then SIGTERM, SIGKILL if one hangs), then
   * returns what still names the scratch folder after a bounded wait, SIGKILLs those by pid and removes the
   * folder. Safe to call twice (the second call finds nothing).
   */
  async close(): Promise<NamedProcess[]> {
    if (this.#closed) return [];
    this.#closed = true;
    const stop = async (child: MusterChild | undefined, who: string): Promise<void> => {
      if (!child?.running) return;
      child.signal('SIGCONT');
      child.signal('SIGTERM');
      const timer = setTimeout(() => child.signal('SIGKILL'), PROCESS_DEADLINE_MS);
      const { code, signal } = await child.exited;
      clearTimeout(timer);
      this.#keepErrors(child, who);
      if (code !== 0 && signal !== 'SIGKILL') this.notes.push(`${who} exited with ${code ?? signal} on SIGTERM`);
    };
    await Promise.all([...this.#agents.values()].map((a) => stop(a.child, `agent ${a.spec.name}`)));
    for (const a of this.#agents.values()) await a.relay.close();
    this.#watch?.close();
    await this.client.close();
    await this.#watching;
    await stop(this.#server, 'server');
    const leftovers = await leftoversOf(this.root, LEFTOVER_DEADLINE_MS);
    rmSync(this.root, { recursive: true, force: true });
    return leftovers;
  }
}
