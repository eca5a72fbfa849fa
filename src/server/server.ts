/**
 * `muster server`, assembled: the one place where the store, the scheduling core and the gateway meet.
 * In run order, with why each step is where it is:
 *
 * 1. Tokens, then the gateway binds its port (refusing the uWS fallback): a wrong port or a missing native
 *    server fails in milliseconds, before any recovery work; `/readyz` answers 503 from here on.
 * 2. The store is opened (locking the data folder) and the state recovered: snapshot + log, a new epoch.
 * 3. The core starts from that state with its sink wrapped by the gateway (watchers and metrics see each
 *    batch once durable) and by the snapshot trigger; its agent port is the gateway's agent hub.
 * 4. Queues from the config are defined (only those that differ from the recovered ones: no event per start).
 * 5. The gateway turns ready: every route and upgrade is served.
 *
 * `stop()` reverses it: stop accepting (503 to new requests), let running snapshots finish, wait until every
 * event so far is durable and every reply waiting for it has gone (`core.sync()`), close the sockets, close
 * the store (flushing it and releasing its lock) and the actor system.
 */
import { isDeepStrictEqual } from 'node:util';
import type { ActorSystem } from '../actors/index.js';
import { createActorSystem, defaultWorkerCount } from '../actors/index.js';
import { Gateway, TokenTable } from '../api/index.js';
import type { Logger } from '../log/index.js';
import { createLogger } from '../log/index.js';
import { activeBackend } from '../placement/index.js';
import { SchedulerCore, isTerminal, recoverScheduler, storeSink } from '../scheduler/index.js';
import type { EmbeddedStore } from '../store/index.js';
import { openEmbeddedStore } from '../store/index.js';
import type { ServerConfig } from './config.js';
import { Snapshotter } from './snapshots.js';
import { loadTokens } from './tokens.js';

export interface ServerEvents {
  /** The port is bound (the server is not ready yet). */
  listening?(url: string, adminToken: string | undefined): void;
  /** Recovered and serving. */
  ready?(info: { readonly url: string; readonly lastSeq: number; readonly replayed: number; readonly epoch: number; readonly jobs: number }): void;
}

export class RunningServer {
  readonly gateway: Gateway;
  readonly core: SchedulerCore;
  readonly store: EmbeddedStore;
  readonly snapshots: Snapshotter;
  readonly #system: ActorSystem;
  readonly #log: Logger;
  #stopping: Promise<void> | undefined;

  constructor(parts: { gateway: Gateway; core: SchedulerCore; store: EmbeddedStore; snapshots: Snapshotter; system: ActorSystem; log: Logger }) {
    this.gateway = parts.gateway;
    this.core = parts.core;
    this.store = parts.store;
    this.snapshots = parts.snapshots;
    this.#system = parts.system;
    this.#log = parts.log;
  }

  get url(): string {
    return this.gateway.url;
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#log.info('stopping: no new connections or requests');
    this.gateway.stopAccepting();
    await this.snapshots.stop();
    await this.core.sync();
    this.gateway.closeConnections();
    await this.store.close();
    await this.#system.shutdown();
    this.#log.info('stopped: every acknowledged event is durable');
  }
}

export async function startServer(config: ServerConfig, events: ServerEvents = {}, log: Logger = createLogger({ name: 'server' })): Promise<RunningServer> {
  const tokens = await loadTokens(config);
  const backend = activeBackend();
  const gateway = Gateway.listen({
    tokens: new TokenTable(tokens.entries),
    limits: config.limits,
    host: config.host,
    port: config.port,
    ...(config.tls ? { tls: config.tls } : {}),
    backend,
    liveness: config.liveness,
    log: log.child({ part: 'gateway' }),
  });
  events.listening?.(gateway.url, tokens.adminToken);
  let store: EmbeddedStore | undefined;
  let system: ActorSystem | undefined;
  try {
    store = await openEmbeddedStore({ dir: config.data, logger: log.child({ part: 'store' }) });
    const recovered = await recoverScheduler(store);
    log.info({ lastSeq: recovered.lastSeq, replayed: recovered.replayed, epoch: recovered.epoch, jobs: recovered.state.jobs.size }, 'state recovered');
    const sites = new Set(config.sites);
    for (const node of recovered.state.nodes.values()) {
      if (!sites.has(node.spec.site)) log.error({ node: node.spec.name, site: node.spec.site }, 'a recovered node belongs to a site the configuration no longer names');
    }
    system = await createActorSystem({ workers: config.workers ?? defaultWorkerCount(), log: log.child({ part: 'actors' }) });
    let snapshots: Snapshotter | undefined;
    const live = (function* () {
      for (const job of recovered.state.jobs.values()) if (!isTerminal(job.status)) yield { id: job.id, tenant: job.tenant, queue: job.spec.queue };
    })();
    const sink = gateway.observe(storeSink(store, recovered.epoch), { lastSeq: recovered.lastSeq, jobs: live }, (written) => snapshots?.noteEvents(written.length));
    const core = await SchedulerCore.create({
      system,
      sites: config.sites,
      agents: gateway.agents,
      sink,
      epoch: recovered.epoch,
      lastSeq: recovered.lastSeq,
      recovered: recovered.state,
      autoCycle: true,
      backend,
      log: log.child({ part: 'scheduler' }),
    });
    snapshots = new Snapshotter({ core, store, log: log.child({ part: 'snapshots' }), ...config.snapshot });
    for (const queue of config.queues) {
      if (!isDeepStrictEqual(recovered.state.queues.get(queue.name)?.spec, queue)) await core.defineQueue(queue);
    }
    gateway.ready(core, recovered.epoch);
    events.ready?.({ url: gateway.url, lastSeq: recovered.lastSeq, replayed: recovered.replayed, epoch: recovered.epoch, jobs: recovered.state.jobs.size });
    return new RunningServer({ gateway, core, store, snapshots, system, log });
  } catch (err) {
    gateway.close();
    await store?.close().catch(() => undefined);
    await system?.shutdown().catch(() => undefined);
    throw err;
  }
}
