/**
 * A term of leadership: what a server runs while it decides — the actor system, the scheduling core on the
 * recovered state, its sink into the store (wrapped by the gateway's observer and the store-failure watch)
 * and the snapshotter — from the state a store gave it to its end. The single server (server.ts) runs one
 * term for its whole life; a replica (replica.ts) one per election it wins.
 *
 * A term ends in one of two ways:
 * - `stop()`, a clean stop: every event so far durable and every reply waiting for it sent, then the actor
 *   system stopped (no cycle or report emits after it), then the store closed (flushed, released);
 * - `abandon()`, a deposed leader: the gateway has already turned standby (its sockets closed, nothing more
 *   is started or acknowledged); the actor system stops without waiting for anything, and the store is
 *   closed, its pending writes refused (FENCED or failed: the new leader owns the log now).
 */
import { isDeepStrictEqual } from 'node:util';
import type { ActorSystem } from '../actors/index.js';
import { createActorSystem, defaultWorkerCount } from '../actors/index.js';
import type { Gateway } from '../api/index.js';
import type { Logger } from '../log/index.js';
import type { BackendName } from '../placement/index.js';
import type { JobHistory, RecoveredScheduler } from '../scheduler/index.js';
import { SchedulerCore, isTerminal, storeSink } from '../scheduler/index.js';
import type { EventStore } from '../store/index.js';
import type { ServerConfig } from './config.js';
import { OutputFolder } from './output-folder.js';
import type { SnapshotWriter } from './snapshots.js';
import { Snapshotter } from './snapshots.js';
import type { StoreFailureWatch } from './store-failure.js';

export interface TermParts {
  readonly config: ServerConfig;
  readonly gateway: Gateway;
  readonly store: EventStore;
  readonly recovered: RecoveredScheduler;
  readonly watch: StoreFailureWatch;
  readonly snapshots: SnapshotWriter;
  /** Where retired jobs are read from (the embedded store's history); none: they are not. */
  readonly history: JobHistory | undefined;
  /** The active placement backend. */
  readonly backend: BackendName;
  /** An actor system started ahead (a standby keeps one warm: its worker threads take a while to start); else one is made. */
  readonly system?: ActorSystem;
  readonly log: Logger;
}

/** The recovered nodes whose agents should come back (not lost, not taken out): liveness expects them. */
export function* nodesInService(state: RecoveredScheduler['state']): Generator<{ name: string; site: string }> {
  for (const node of state.nodes.values()) if (node.state !== 'lost' && node.state !== 'down') yield { name: node.spec.name, site: node.spec.site };
}

/** The actor system a term runs on, as configured. */
export function startActorSystem(config: ServerConfig, log: Logger): Promise<ActorSystem> {
  return createActorSystem({ workers: config.workers ?? defaultWorkerCount(), log: log.child({ part: 'actors' }) });
}

/**
 * The control plane's copy of agents' output, in this replica's data folder (none when `output.keepBytes`
 * is 0). Copies of jobs that left the live state while no term ran here are removed first.
 */
async function keptOutputs(config: ServerConfig, recovered: RecoveredScheduler, log: Logger): Promise<OutputFolder | undefined> {
  if (config.output.keepBytes === 0) return undefined;
  const outputs = new OutputFolder({ dataDir: config.data, keepBytes: config.output.keepBytes, log: log.child({ part: 'output' }) });
  const swept = await outputs.sweep((job) => recovered.state.jobs.has(job));
  if (swept > 0) log.info({ jobs: swept }, 'removed the kept output of jobs no longer in the live state');
  return outputs;
}

export class LeaderTerm {
  readonly core: SchedulerCore;
  readonly system: ActorSystem;
  readonly snapshots: Snapshotter;
  readonly store: EventStore;
  readonly epoch: number;
  readonly #log: Logger;

  private constructor(parts: { core: SchedulerCore; system: ActorSystem; snapshots: Snapshotter; store: EventStore; epoch: number; log: Logger }) {
    this.core = parts.core;
    this.system = parts.system;
    this.snapshots = parts.snapshots;
    this.store = parts.store;
    this.epoch = parts.epoch;
    this.#log = parts.log;
  }

  /**
   * Starts the core on the recovered state and turns the gateway ready. On failure everything started here
   * is stopped again; the store is the caller's.
   */
  static async start(parts: TermParts): Promise<LeaderTerm> {
    const { config, gateway, recovered, log } = parts;
    const sites = new Set(config.sites);
    for (const node of recovered.state.nodes.values()) {
      if (!sites.has(node.spec.site)) log.error({ node: node.spec.name, site: node.spec.site }, 'a recovered node belongs to a site the configuration no longer names');
    }
    const system = parts.system ?? (await startActorSystem(config, log));
    try {
      gateway.metrics.followRestarts(() => system.restartCounts());
      let snapshots: Snapshotter | undefined;
      const live = (function* () {
        for (const job of recovered.state.jobs.values()) if (!isTerminal(job.status)) yield { id: job.id, tenant: job.tenant, queue: job.spec.queue };
      })();
      const outputs = await keptOutputs(config, recovered, log);
      gateway.keepOutputs(outputs);
      const sink = gateway.observe(parts.watch.sink(storeSink(parts.store, recovered.epoch)), { lastSeq: recovered.lastSeq, jobs: live }, (written) => {
        snapshots?.noteEvents(written.length);
        // A retired job's kept output goes with it.
        if (outputs) for (const event of written) if (event.kind === 'JobsRetired') void outputs.removeJobs(event.jobs);
      });
      const core = await SchedulerCore.create({
        system,
        sites: config.sites,
        agents: gateway.agents,
        sink,
        epoch: recovered.epoch,
        lastSeq: recovered.lastSeq,
        recovered: recovered.state,
        autoCycle: true,
        retention: config.retention,
        ...(parts.history ? { history: parts.history } : {}),
        backend: parts.backend,
        log: log.child({ part: 'scheduler' }),
      });
      snapshots = new Snapshotter({ core, writer: parts.snapshots, log: log.child({ part: 'snapshots' }), ...config.snapshot });
      for (const queue of config.queues) {
        if (!isDeepStrictEqual(recovered.state.queues.get(queue.name)?.spec, queue)) await core.defineQueue(queue);
      }
      gateway.ready(core, recovered.epoch, nodesInService(recovered.state));
      return new LeaderTerm({ core, system, snapshots, store: parts.store, epoch: recovered.epoch, log });
    } catch (err) {
      await system.shutdown().catch(() => undefined);
      throw err;
    }
  }

  /** A clean stop (see the header); the gateway has stopped accepting. `failed`: the store failed before. */
  async stop(gateway: Gateway, failed: boolean): Promise<void> {
    await this.snapshots.stop();
    // Every event so far durable and every reply waiting for it sent (after a store failure they were refused
    // already, and sync is refused too: nothing more can become durable). A stop goes on whatever sync says.
    await this.core.sync().catch((err: unknown) => {
      if (!failed) this.#log.error({ err }, 'stopping: the last events could not be confirmed durable');
    });
    gateway.closeConnections();
    await this.system.shutdown();
    await this.store.close();
  }

  /** A deposed leader's end (see the header): nothing waits for durability; nothing fails the caller. */
  async abandon(): Promise<void> {
    await this.snapshots.stop().catch(() => undefined);
    await this.system.shutdown().catch((err: unknown) => this.#log.warn({ err }, 'deposed: stopping the actor system'));
    await this.store.close().catch((err: unknown) => this.#log.info({ code: (err as { code?: unknown }).code }, 'deposed: the store refused what was pending (the new leader owns the log)'));
  }
}
