/**
 * The simulation harness: the whole scheduling core (dispatcher, queue, node and site actors, the real
 * solver on worker threads) driven by a script on a virtual clock. Time jumps from one scheduled thing to
 * the next (an arrival, a task's end, a backoff, a deadline), and at each instant the harness waits for the
 * actors to settle and runs dispatch cycles until nothing more is placed. Every step is awaited, so a run is
 * deterministic: the same script gives the same events. (With a store behind it, `sink`, the order in which
 * a cycle's events and the reports of earlier, now durable placements interleave depends on the disk.)
 *
 * Alongside, it rebuilds the whole state from the event stream with the reducer (as recovery would) and
 * checks, after every placement, that no node holds more than its capacity.
 */
import { performance } from 'node:perf_hooks';
import type { ActorSystem } from '../../actors/index.js';
import { createActorSystem } from '../../actors/index.js';
import { createLogger } from '../../log/index.js';
import type { BackendName } from '../../placement/index.js';
import { applyEvent } from '../apply.js';
import { VirtualClock } from '../clock.js';
import { SchedulerCore } from '../core.js';
import type { SchedulerCoreOptions } from '../core.js';
import type { EventSink } from '../durable-sequencer.js';
import type { SchedulerEvent } from '../events.js';
import type { RetentionPolicy } from '../retention.js';
import type { SchedulerState } from '../state.js';
import { createState } from '../state.js';
import { VirtualFleet } from './fleet.js';
import type { AttemptBehaviour, SimJob, SimScript } from './script.js';

export interface SimulationOptions {
  readonly script: SimScript;
  /** An actor system to run in (default: a new one with one worker host, closed with the simulation). */
  readonly system?: ActorSystem;
  readonly backend?: BackendName;
  /** Keep every event (tests); off for long benchmark runs. */
  readonly keepEvents?: boolean;
  /** Called with every event, in order. */
  readonly onEvent?: (event: SchedulerEvent, state: SchedulerState) => void;
  /**
   * Rebuild the whole state from the events and check every placement against node capacity (default
   * true). Benchmarks turn it off so they time the core, not this second copy of its work, and check the
   * outcome from the actors instead.
   */
  readonly verify?: boolean;
  /** Finished jobs leave the live state by this (retention.ts); none: they stay. */
  readonly retention?: RetentionPolicy;
  /**
   * A store behind the simulation's own record of the events (benchmarks: the embedded store, as a server
   * writes it). The fleet hears of a placement only once it is durable; cycles at one instant go on while
   * the store writes (as a server's do), and before the clock moves everything emitted is durable and its
   * consequences handled. Default: none, events are durable at once.
   */
  readonly sink?: EventSink;
  /** Passed to the core (fault tests: a short cycle deadline and site actors that fail on purpose). */
  readonly core?: Pick<SchedulerCoreOptions, 'cycleDeadlineMs' | 'siteActor' | 'reservations'>;
}

export interface Overcommit {
  readonly node: string;
  readonly at: number;
  readonly dimension: string;
}

export interface SimulationReport {
  /** Simulated time when the run stopped. */
  readonly endedAt: number;
  readonly cycles: number;
  readonly placements: number;
  readonly overcommits: readonly Overcommit[];
  /** Per queue, the cpu it held integrated over simulated time (millicore·ms). */
  readonly cpuTime: ReadonlyMap<string, number>;
}

/** Most cycles at one instant: a cycle that keeps placing is bounded by the cluster; this guards against a bug. */
export const MAX_CYCLES_PER_INSTANT = 10_000;

export class Simulation {
  readonly clock = new VirtualClock(0);
  readonly fleet: VirtualFleet;
  readonly events: SchedulerEvent[] = [];
  /** The whole state, rebuilt from the event stream as it flows. */
  readonly state: SchedulerState = createState(false);
  /** Job id of each scripted job (by index), once submitted. */
  readonly jobIds: (string | undefined)[] = [];
  /** Wall-clock duration of every dispatch cycle, in ms. */
  readonly cycleMs: number[] = [];
  readonly #options: SimulationOptions;
  readonly #ownSystem: boolean;
  readonly #byId = new Map<string, SimJob>();
  readonly #overcommits: Overcommit[] = [];
  readonly #cpuTime = new Map<string, number>();
  #core: SchedulerCore | undefined;
  #system: ActorSystem | undefined;
  #actions: (() => Promise<unknown>)[] = [];
  #cycles = 0;
  #placements = 0;
  /** Events the core has emitted so far. */
  #emitted = 0;

  private constructor(options: SimulationOptions) {
    this.#options = options;
    this.#ownSystem = options.system === undefined;
    this.fleet = new VirtualFleet(this.clock, (launch) => this.#behaviour(launch.job, launch.task, launch.attempt));
  }

  static async create(options: SimulationOptions): Promise<Simulation> {
    const sim = new Simulation(options);
    sim.#system = options.system ?? (await createActorSystem({ workers: 1, log: createLogger({ name: 'sim', level: 'warn' }) }));
    sim.#core = await SchedulerCore.create({
      system: sim.#system,
      sites: options.script.sites,
      agents: sim.fleet,
      clock: sim.clock,
      sink: {
        write: (events, firstSeq) => {
          sim.#emitted += events.length;
          for (const e of events) sim.#record(e);
          return options.sink?.write(events, firstSeq);
        },
      },
      ...(options.backend ? { backend: options.backend } : {}),
      ...(options.retention ? { retention: options.retention } : {}),
      ...options.core,
      log: createLogger({ name: 'sim', level: 'warn' }),
    });
    const core = sim.#core;
    sim.fleet.connect({ started: (r) => core.taskStarted(r), ended: (r) => core.taskEnded(r) });
    sim.#schedule();
    return sim;
  }

  /** Every over-commitment seen so far (none, when the scheduler is right). */
  get overcommits(): readonly Overcommit[] {
    return this.#overcommits;
  }

  get core(): SchedulerCore {
    if (!this.#core) throw new Error('simulation not created');
    return this.#core;
  }

  #behaviour(job: string, task: number, attempt: number): AttemptBehaviour {
    const sim = this.#byId.get(job);
    if (sim?.behaviour) return sim.behaviour(task, attempt);
    return { durationMs: sim?.durationMs ?? 1000, outcome: 'succeeded' };
  }

  #record(e: SchedulerEvent): void {
    if (this.#options.keepEvents) this.events.push(e);
    // An ended job starts no attempt again: its script entry is not needed any more.
    if (e.kind === 'JobEnded') this.#byId.delete(e.job);
    if (e.kind === 'TasksPlaced') this.#placements += e.placements.length;
    if (this.#options.verify === false) {
      this.#options.onEvent?.(e, this.state);
      return;
    }
    applyEvent(this.state, e);
    if (e.kind === 'TasksPlaced') {
      for (const p of e.placements) {
        const node = this.state.nodes.get(p.node);
        if (!node) continue;
        const cap = node.spec.capacity;
        const used = node.allocated;
        for (const dim of ['cpu', 'memory', 'gpu'] as const) {
          if (used[dim] > cap[dim]) this.#overcommits.push({ node: p.node, at: e.at, dimension: dim });
        }
        for (const name in used.extended) {
          if ((used.extended[name] ?? 0) > (cap.extended[name] ?? 0)) this.#overcommits.push({ node: p.node, at: e.at, dimension: name });
        }
      }
    }
    this.#options.onEvent?.(e, this.state);
  }

  /** Puts the script on the clock: each entry becomes an action run at its time. */
  #schedule(): void {
    const { script } = this.#options;
    const core = this.core;
    const at = (time: number, action: () => Promise<unknown>): void => {
      this.clock.schedule(time, () => this.#actions.push(action));
    };
    at(0, async () => {
      for (const q of script.queues ?? []) await core.defineQueue(q);
    });
    for (const n of script.nodes) at(n.at ?? 0, () => core.joinNode(n.spec));
    for (const s of script.nodeStates ?? []) {
      at(s.at, async () => {
        if (s.state === 'lost') {
          // The node's machine died: its tasks stop reporting before the control plane notices.
          const node = this.state.nodes.get(s.node);
          this.fleet.nodeDied([...(node?.allocations.values() ?? [])]);
        }
        await core.setNodeState(s.node, s.state);
      });
    }
    // Jobs arriving at the same instant are submitted as one batch, as a client would.
    const byTime = new Map<number, number[]>();
    script.jobs.forEach((job, i) => {
      const list = byTime.get(job.at);
      if (list) list.push(i);
      else byTime.set(job.at, [i]);
    });
    for (const [time, indexes] of byTime) {
      at(time, () =>
        this.#submit(
          indexes.map((i) => script.jobs[i]!),
          (k, id) => (this.jobIds[indexes[k]!] = id),
        ),
      );
    }
    if (script.feed) this.#feed(script.feed);
    for (const c of script.cancels ?? []) {
      at(c.at, async () => {
        const id = this.jobIds[c.job];
        if (id) await core.cancel(id).catch(() => undefined);
      });
    }
  }

  /** Submits jobs arriving together, one batch per tenant, as a client would; `named` learns each id. */
  async #submit(jobs: readonly SimJob[], named?: (k: number, id: string) => void): Promise<void> {
    const byTenant = new Map<string, number[]>();
    jobs.forEach((job, k) => {
      const tenant = job.tenant ?? 'default';
      const list = byTenant.get(tenant);
      if (list) list.push(k);
      else byTenant.set(tenant, [k]);
    });
    for (const [tenant, list] of byTenant) {
      // A script's jobs all run as written, even one no node of the script could ever run (it stays pending).
      const results = await this.core.submit(
        tenant,
        list.map((k) => jobs[k]!.spec),
        { holdUnsatisfiable: true },
      );
      results.forEach((r, i) => {
        const k = list[i]!;
        if (!r.ok) return;
        named?.(k, r.job);
        this.#byId.set(r.job, jobs[k]!);
      });
    }
  }

  /** Puts the feed's arrivals on the clock one instant at a time: only the next one is held. */
  #feed(feed: () => SimJob | undefined): void {
    let next = feed();
    const arrive = (): void => {
      const batch: SimJob[] = [];
      const time = next!.at;
      while (next && next.at === time) {
        batch.push(next);
        next = feed();
      }
      this.#actions.push(() => this.#submit(batch));
      if (next) this.clock.schedule(next.at, arrive);
    };
    if (next) this.clock.schedule(next.at, arrive);
  }

  #accumulateUsage(from: number, to: number): void {
    if (to <= from) return;
    for (const [name, queue] of this.state.queues) {
      this.#cpuTime.set(name, (this.#cpuTime.get(name) ?? 0) + queue.usage.cpu * (to - from));
    }
  }

  /** Runs until nothing is scheduled (every job ended or stuck) or simulated time passes `until`. */
  /**
   * Waits until every main-thread actor is idle. Site actors on workers only answer the dispatcher's
   * requests, which cycles wait for, so nothing is left in flight from them at this point; the main host
   * being idle then means every consequence of the last step has been handled.
   */
  async #settle(): Promise<void> {
    await this.#system!.mainIdle();
  }

  /**
   * With a sink: waits until every event emitted so far is durable and what waited for it (dispatches,
   * then the fleet's reports) is handled, until nothing new is emitted. True when something was: a report
   * may have freed capacity at this instant (a kill ends an attempt at once), so cycles run again.
   */
  async #durable(): Promise<boolean> {
    if (!this.#options.sink) return false;
    const before = this.#emitted;
    for (let seen = -1; seen !== this.#emitted; ) {
      seen = this.#emitted;
      await this.core.sync();
      await this.#settle();
    }
    return this.#emitted !== before;
  }

  async run(until = Infinity): Promise<SimulationReport> {
    const core = this.core;
    for (;;) {
      while (this.#actions.length > 0) {
        const actions = this.#actions;
        this.#actions = [];
        for (const action of actions) await action();
      }
      await this.#settle();
      let cycles = 0;
      do {
        for (; cycles < MAX_CYCLES_PER_INSTANT; cycles++) {
          const started = performance.now();
          const report = await core.cycle();
          this.cycleMs.push(performance.now() - started);
          this.#cycles++;
          await this.#settle();
          if (report.wakeAt !== undefined) this.clock.schedule(report.wakeAt, () => {});
          if (report.placed === 0 && report.preempted === 0) break;
        }
      } while ((await this.#durable()) && ++cycles < MAX_CYCLES_PER_INSTANT);
      const now = this.clock.now();
      const next = this.clock.nextAt();
      if (next === undefined || next > until) break;
      this.#accumulateUsage(now, next);
      this.clock.advanceTo(next);
    }
    return {
      endedAt: this.clock.now(),
      cycles: this.#cycles,
      placements: this.#placements,
      overcommits: this.#overcommits,
      cpuTime: this.#cpuTime,
    };
  }

  async close(): Promise<void> {
    if (this.#ownSystem) await this.#system?.shutdown();
  }
}

