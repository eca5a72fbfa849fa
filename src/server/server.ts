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
import type { ActorSystem } from '../actors/index.js';
import { Gateway, TokenTable } from '../api/index.js';
import type { Logger } from '../log/index.js';
import { createLogger } from '../log/index.js';
import type { BackendName } from '../placement/index.js';
import { activeBackend } from '../placement/index.js';
import type { SchedulerCore } from '../scheduler/index.js';
import { recoverScheduler, storeJobHistory } from '../scheduler/index.js';
import type { EmbeddedStore, OpenFile } from '../store/index.js';
import { STORE_FAULTS_ENV, describeStoreFault, injectStoreFaults, openEmbeddedStore, openNodeFile, parseStoreFaults } from '../store/index.js';
import type { ServerConfig } from './config.js';
import { LeaderTerm } from './leader-term.js';
import type { Snapshotter } from './snapshots.js';
import { embeddedSnapshots } from './snapshots.js';
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
  readonly #term: LeaderTerm;
  readonly #store: EmbeddedStore;
  readonly #log: Logger;
  readonly #watch: StoreFailureWatch;
  #stopping: Promise<void> | undefined;

  constructor(parts: { gateway: Gateway; term: LeaderTerm; store: EmbeddedStore; log: Logger; watch: StoreFailureWatch }) {
    this.gateway = parts.gateway;
    this.#term = parts.term;
    this.#store = parts.store;
    this.#log = parts.log;
    this.#watch = parts.watch;
    void this.#watch.failed.then(() => this.snapshots.stop());
  }

  get core(): SchedulerCore {
    return this.#term.core;
  }

  get store(): EmbeddedStore {
    return this.#store;
  }

  get snapshots(): Snapshotter {
    return this.#term.snapshots;
  }

  /** The actor system the scheduler runs on (admin and fault tests). */
  get actors(): ActorSystem {
    return this.#term.system;
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
    await this.#term.stop(this.gateway, this.#watch.failure !== undefined);
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

/** Binds the gateway's port (refusing the uWS fallback) and says so. */
export async function listenGateway(config: ServerConfig, events: ServerEvents, log: Logger): Promise<{ gateway: Gateway; backend: BackendName }> {
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
  return { gateway, backend };
}

export async function startServer(config: ServerConfig, events: ServerEvents = {}, log: Logger = createLogger({ name: 'server' })): Promise<RunningServer> {
  const { gateway, backend } = await listenGateway(config, events, log);
  let store: EmbeddedStore | undefined;
  const storeLog = log.child({ part: 'store' });
  const watch = new StoreFailureWatch(storeLog);
  void watch.failed.then((failure) => gateway.storeFailed(failure.error.message));
  try {
    store = await openEmbeddedStore({ dir: config.data, logger: storeLog, openFile: storeFiles(storeLog) });
    const recovered = await recoverScheduler(store);
    log.info({ lastSeq: recovered.lastSeq, replayed: recovered.replayed, epoch: recovered.epoch, jobs: recovered.state.jobs.size }, 'state recovered');
    const term = await LeaderTerm.start({
      config,
      gateway,
      store,
      recovered,
      watch,
      snapshots: embeddedSnapshots(store),
      history: storeJobHistory(config.data, log.child({ part: 'history' })),
      backend,
      log,
    });
    events.ready?.({ url: gateway.url, lastSeq: recovered.lastSeq, replayed: recovered.replayed, epoch: recovered.epoch, jobs: recovered.state.jobs.size });
    return new RunningServer({ gateway, term, store, log, watch });
  } catch (err) {
    gateway.close();
    await store?.close().catch(() => undefined);
    throw err;
  }
}
