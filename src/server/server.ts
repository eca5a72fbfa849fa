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
 * `stop()` reverses it: stop accepting (503 to new requests; liveness stops deciding, so agents that
 * disconnect during the stop write nothing), abandon a snapshot's fold and let its write finish, wait until
 * every event so far is durable and every reply waiting for it has gone (`core.sync()`), close the sockets,
 * stop the actor system (no cycle or report emits after it), and only then close the store (flushing what
 * the scheduler handed it and releasing its lock): nothing is written to a closed store.
 *
 * A store that fails (store-failure.ts) turns the gateway `failed` at once (503 everywhere, health
 * included); `storeFailed` settles, and the caller (`muster server`) calls `closeAfterStoreFailure()` and
 * exits with `STORE_FAILED_EXIT_CODE`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import type { ActorSystem } from '../actors/index.js';
import { createActorSystem, defaultWorkerCount } from '../actors/index.js';
import { Gateway, TokenTable } from '../api/index.js';
import type { Logger } from '../log/index.js';
import { createLogger } from '../log/index.js';
import { activeBackend } from '../placement/index.js';
import { SchedulerCore, isTerminal, recoverScheduler, storeJobHistory, storeSink } from '../scheduler/index.js';
import type { EmbeddedStore, OpenFile } from '../store/index.js';
import { STORE_FAULTS_ENV, describeStoreFault, injectStoreFaults, openEmbeddedStore, openNodeFile, parseStoreFaults } from '../store/index.js';
import type { ServerConfig } from './config.js';
import { Snapshotter } from './snapshots.js';
import type { StoreFailure } from './store-failure.js';
import { STORE_FAILED_EXIT_DELAY_MS, StoreFailureWatch } from './store-failure.js';
import { loadTokens } from './tokens.js';

export interface ServerEvents {
  /** The port is bound (the server is not ready yet). */
  listening?(url: string, adminToken: string | undefined): void;
  /** Recovered and serving. */
  ready?(info: { readonly url: string; readonly lastSeq: number; readonly replayed: number; readonly epoch: number; readonly jobs: number }): void;
}

/** How serving ended: a signal asked for a clean stop, or the store failed. */
export type ServeEnd = { readonly kind: 'signal'; readonly signal: string } | { readonly kind: 'store-failed'; readonly failure: StoreFailure };

export class RunningServer {
  readonly gateway: Gateway;
  readonly core: SchedulerCore;
  readonly store: EmbeddedStore;
  readonly snapshots: Snapshotter;
  readonly #system: ActorSystem;
  readonly #log: Logger;
  readonly #watch: StoreFailureWatch;
  #stopping: Promise<void> | undefined;

  constructor(parts: { gateway: Gateway; core: SchedulerCore; store: EmbeddedStore; snapshots: Snapshotter; system: ActorSystem; log: Logger; watch: StoreFailureWatch }) {
    this.gateway = parts.gateway;
    this.core = parts.core;
    this.store = parts.store;
    this.snapshots = parts.snapshots;
    this.#system = parts.system;
    this.#log = parts.log;
    this.#watch = parts.watch;
    void this.#watch.failed.then(() => this.snapshots.stop());
  }

  /** The actor system the scheduler runs on (admin and fault tests). */
  get actors(): ActorSystem {
    return this.#system;
  }

  get url(): string {
    return this.gateway.url;
  }

  /** Settles (never rejects) when the store fails: the server then refuses everything and must exit. */
  get storeFailed(): Promise<StoreFailure> {
    return this.#watch.failed;
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  /** Whichever comes first: `signal` (a clean stop was asked for) or the store's failure. */
  until(signal: Promise<string>): Promise<ServeEnd> {
    return Promise.race([signal.then((name): ServeEnd => ({ kind: 'signal', signal: name })), this.#watch.failed.then((failure): ServeEnd => ({ kind: 'store-failed', failure }))]);
  }

  /**
   * After a store failure: waits `STORE_FAILED_EXIT_DELAY_MS` (the refusals leave, health probes see the
   * 503), then closes everything as `stop()` does. The caller bounds it (`STORE_FAILED_CLOSE_MS`): a
   * failing disk may hang a call.
   */
  async closeAfterStoreFailure(): Promise<void> {
    await sleep(STORE_FAILED_EXIT_DELAY_MS);
    await this.stop();
  }

  async #stop(): Promise<void> {
    this.#log.info('stopping: no new connections or requests');
    this.gateway.stopAccepting();
    await this.snapshots.stop();
    // Every event so far durable and every reply waiting for it sent (after a store failure they were refused
    // already, and sync is refused too: nothing more can become durable). A stop goes on whatever sync says.
    await this.core.sync().catch((err: unknown) => {
      if (!this.#watch.failure) this.#log.error({ err }, 'stopping: the last events could not be confirmed durable');
    });
    this.gateway.closeConnections();
    await this.#system.shutdown();
    await this.store.close();
    if (this.#watch.failure) this.#log.info('stopped after the store failed: only what was acknowledged before is durable');
    else this.#log.info('stopped: every acknowledged event is durable');
  }
}

/**
 * The store's file-system seam: the real one, with the faults of `MUSTER_STORE_FAULTS` injected when it is
 * set (a testing facility: src/store/README.md, "Fault injection"), announced by a warning.
 */
function storeFiles(log: Logger): OpenFile {
  const faults = parseStoreFaults(process.env[STORE_FAULTS_ENV] ?? '');
  if (faults.length === 0) return openNodeFile;
  log.warn({ [STORE_FAULTS_ENV]: process.env[STORE_FAULTS_ENV], faults: faults.map(describeStoreFault) }, `STORE FAULT INJECTION IS ON (${STORE_FAULTS_ENV}): ${faults.map(describeStoreFault).join('; ')}; this server's store will fail on purpose`);
  return injectStoreFaults(openNodeFile, faults, (fault, path, syscall) => log.warn({ errno: fault.errno, file: path, syscall }, `injecting ${fault.errno} into ${syscall} of ${path} (${STORE_FAULTS_ENV})`));
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
  const storeLog = log.child({ part: 'store' });
  const watch = new StoreFailureWatch(storeLog);
  void watch.failed.then((failure) => gateway.storeFailed(failure.error.message));
  try {
    store = await openEmbeddedStore({ dir: config.data, logger: storeLog, openFile: storeFiles(storeLog) });
    const recovered = await recoverScheduler(store);
    log.info({ lastSeq: recovered.lastSeq, replayed: recovered.replayed, epoch: recovered.epoch, jobs: recovered.state.jobs.size }, 'state recovered');
    const sites = new Set(config.sites);
    for (const node of recovered.state.nodes.values()) {
      if (!sites.has(node.spec.site)) log.error({ node: node.spec.name, site: node.spec.site }, 'a recovered node belongs to a site the configuration no longer names');
    }
    system = await createActorSystem({ workers: config.workers ?? defaultWorkerCount(), log: log.child({ part: 'actors' }) });
    const actors = system;
    gateway.metrics.followRestarts(() => actors.restartCounts());
    let snapshots: Snapshotter | undefined;
    const live = (function* () {
      for (const job of recovered.state.jobs.values()) if (!isTerminal(job.status)) yield { id: job.id, tenant: job.tenant, queue: job.spec.queue };
    })();
    const sink = gateway.observe(watch.sink(storeSink(store, recovered.epoch)), { lastSeq: recovered.lastSeq, jobs: live }, (written) => snapshots?.noteEvents(written.length));
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
      history: storeJobHistory(config.data, log.child({ part: 'history' })),
      backend,
      log: log.child({ part: 'scheduler' }),
    });
    snapshots = new Snapshotter({ core, store, log: log.child({ part: 'snapshots' }), ...config.snapshot });
    for (const queue of config.queues) {
      if (!isDeepStrictEqual(recovered.state.queues.get(queue.name)?.spec, queue)) await core.defineQueue(queue);
    }
    gateway.ready(core, recovered.epoch);
    events.ready?.({ url: gateway.url, lastSeq: recovered.lastSeq, replayed: recovered.replayed, epoch: recovered.epoch, jobs: recovered.state.jobs.size });
    return new RunningServer({ gateway, core, store, snapshots, system, log, watch });
  } catch (err) {
    gateway.close();
    await system?.shutdown().catch(() => undefined);
    await store?.close().catch(() => undefined);
    throw err;
  }
}
