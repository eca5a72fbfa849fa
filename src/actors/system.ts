/**
 * The actor system: the main thread's host (host 0) plus a fixed pool of worker hosts (1..N), fully
 * meshed (one `MessageChannel` per pair of hosts, so a sender–receiver pair always uses the same FIFO
 * port). The system owns the topology: it spawns actors on hosts through their admin API, keeps the
 * producer of every actor it spawned on a worker, and restarts a worker that dies, rebuilding its actors.
 *
 * Worker death (uncaught error, `process.exit` in the worker, out of memory under `resourceLimits`,
 * `terminate`) is seen as the worker's `exit` event. Then, in this order: the admin client rejects its
 * calls (`MUSTER_ERR_ACTOR_HOST_DIED`); every host is told `peer-down` (a signal on the data path, ordered
 * with the main host's messages) (its asks to the dead host reject;
 * from then on its messages to that host are held); the death is logged, counted and published; a new
 * worker is started with the registered actors, and every host gets a port to it (`peer-up`), which
 * releases the held messages. Beyond `maxHostRestarts` within `hostRestartWindowMs` the host is failed
 * for good (`host-failed`): messages to it become dead letters.
 */
import { availableParallelism } from 'node:os';
import { MessageChannel, Worker } from 'node:worker_threads';
import type { ResourceLimits } from 'node:worker_threads';
import { MusterError } from '../errors/index.js';
import { createLogger } from '../log/index.js';
import type { Logger } from '../log/index.js';
import { AdminClient, createHostAdmin } from './admin.js';
import type { HostAdmin } from './admin.js';
import type { ActorDefinition } from './behaviour.js';
import type { ActorEvent, ActorEventListener } from './events.js';
import { ActorHost } from './host.js';
import type { HostStats } from './host.js';
import { assertNever } from './outcome.js';
import { producerSpec } from './producer.js';
import type { Producer } from './producer.js';
import { LOCAL_ID_BASE } from './ref.js';
import type { ActorRef, AnyRef } from './ref.js';
import { HOST_RESTARTS_NAME, RestartCounts } from './restart-counts.js';
import { siblingModule, workerEntry } from './runtime-files.js';
import { RestartBudget } from './supervision.js';
import type { ControlToMain, HostSignal, PeerPort, RegisteredActor, WorkerBoot } from './wire.js';

/** An admin call (spawn imports a module; stats walks every actor) answers in milliseconds; 5 s means the host is stuck. */
export const DEFAULT_ADMIN_TIMEOUT_MS = 5_000;
/** The default deadline of `ask` when the caller gives none. */
export const DEFAULT_ASK_TIMEOUT_MS = 5_000;
/** Five worker restarts per minute: enough to ride out a few crashes; more is a crash loop that restarting cannot fix. */
export const DEFAULT_MAX_HOST_RESTARTS = 5;
export const DEFAULT_HOST_RESTART_WINDOW_MS = 60_000;

/** One worker per core beyond the first (the main thread has that one), and at least one. */
export function defaultWorkerCount(): number {
  return Math.max(1, availableParallelism() - 1);
}

export interface ActorSystemOptions {
  /** Worker hosts (default `defaultWorkerCount()`); 0 runs everything on the main thread. */
  readonly workers?: number;
  /** Per worker (e.g. `{ maxOldGenerationSizeMb }`): a worker beyond it dies out of memory and is restarted. */
  readonly resourceLimits?: ResourceLimits;
  readonly adminTimeoutMs?: number;
  readonly askTimeoutMs?: number;
  readonly maxHostRestarts?: number;
  readonly hostRestartWindowMs?: number;
  readonly log?: Logger;
  /** Log level of the worker hosts (default `MUSTER_LOG_LEVEL`, else `info`). */
  readonly logLevel?: string;
}

export interface HostStatus extends HostStats {
  /** Times this host's worker was restarted since the system started. */
  readonly hostRestarts: number;
}

interface WorkerSlot {
  readonly host: number;
  incarnation: number;
  worker: Worker | undefined;
  admin: AdminClient | undefined;
  state: 'starting' | 'up' | 'down' | 'failed';
  cause: string | undefined;
  restarts: number;
  readonly budget: RestartBudget;
}

export class ActorSystem {
  readonly #main: ActorHost;
  readonly #mainAdmin: HostAdmin;
  readonly #slots: WorkerSlot[] = [];
  readonly #registry = new Map<number, RegisteredActor & { readonly host: number }>();
  readonly #listeners = new Set<ActorEventListener>();
  readonly #log: Logger;
  readonly #options: ActorSystemOptions;
  readonly #askTimeoutMs: number;
  #nextId = 1;
  #closed = false;
  #hostDeaths = 0;
  #hostRestarts = 0;
  readonly #restarts = new RestartCounts();

  private constructor(options: ActorSystemOptions) {
    this.#options = options;
    this.#log = options.log ?? createLogger({ name: 'actors' });
    this.#askTimeoutMs = options.askTimeoutMs ?? DEFAULT_ASK_TIMEOUT_MS;
    this.#main = new ActorHost({ id: 0, incarnation: 0, log: this.#log.child({ host: 0 }), onEvent: (e) => this.#dispatch(e) });
    this.#mainAdmin = createHostAdmin(this.#main);
  }

  /** Starts the worker hosts and resolves when every one of them is ready. */
  static async create(options: ActorSystemOptions = {}): Promise<ActorSystem> {
    const system = new ActorSystem(options);
    const workers = options.workers ?? defaultWorkerCount();
    try {
      await Promise.all(Array.from({ length: workers }, (_, i) => system.#startWorker(system.#newSlot(i + 1))));
    } catch (err) {
      await system.shutdown();
      throw err;
    }
    return system;
  }

  /** Host 0 (main) and the worker hosts 1..N. */
  get hosts(): readonly number[] {
    return [0, ...this.#slots.filter(Boolean).map((s) => s.host)];
  }

  get workerHosts(): readonly number[] {
    return this.#slots.filter(Boolean).map((s) => s.host);
  }

  /** Worker deaths and restarts since start. */
  get counters(): { readonly hostDeaths: number; readonly hostRestarts: number } {
    return { hostDeaths: this.#hostDeaths, hostRestarts: this.#hostRestarts };
  }

  /**
   * Restarts per actor name (the definition's `name`) since the system started, on every host, and worker
   * host restarts under `HOST_RESTARTS_NAME` (`host`). A read on the main thread, no message: a live view
   * kept from the `supervision` events every host forwards here (a worker's arrive within a turn of its
   * event loop; those of a worker that dies before sending them are not counted).
   */
  restartCounts(): ReadonlyMap<string, number> {
    return this.#restarts.byName;
  }

  // ---------------------------------------------------------------- actors

  /**
   * Spawns an actor from a producer on `host`; resolves once it exists there. An actor spawned on a worker
   * is rebuilt (same ref, fresh state) whenever that worker restarts, until it stops.
   */
  async spawn<A, M>(host: number, producer: Producer<A, M>, args: A): Promise<ActorRef<M>> {
    this.#checkOpen();
    const id = this.#nextId++;
    const spec = producerSpec(producer, args);
    if (host !== 0) this.#registry.set(id, { id, spec, host });
    try {
      await this.admin(host).spawn(id, spec);
    } catch (err) {
      this.#registry.delete(id);
      throw err;
    }
    return { host, id };
  }

  /** Spawns an actor from a definition on the main thread, now (functions never leave this thread). */
  spawnLocal<S, M>(definition: ActorDefinition<S, M>): ActorRef<M> {
    this.#checkOpen();
    return this.#main.spawn(definition as ActorDefinition<unknown, unknown>) as ActorRef<M>;
  }

  /** Resolves once no actor of the main thread has work left (see `ActorHost.whenIdle`). */
  mainIdle(): Promise<void> {
    return this.#main.whenIdle();
  }

  /** Sends from outside any actor (main thread); remote messages leave batched at the end of the tick. */
  tell<M>(to: ActorRef<M>, message: M): void {
    this.#main.send(to as AnyRef, message);
  }

  /** Requests `make(replyTo)` and waits for the reply (see `ActorHost.ask` for the ways it rejects). */
  ask<R, M>(to: ActorRef<M>, make: (replyTo: ActorRef<R>) => M, timeoutMs: number = this.#askTimeoutMs): Promise<R> {
    return this.#main.ask<R>(to as AnyRef, make, timeoutMs);
  }

  /** Asks the actor to stop after its current message. */
  stop(ref: AnyRef): void {
    this.#main.requestStop(ref);
  }

  onEvent(listener: ActorEventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  // ---------------------------------------------------------------- admin

  /** The admin API of a host; for a worker, calls have a deadline and reject if the worker dies. */
  admin(host: number): HostAdmin {
    if (host === 0) return this.#mainAdmin;
    const slot = this.#slots[host];
    if (slot === undefined) throw new MusterError('MUSTER_ERR_INVALID_VALUE', `no host ${host}`);
    if (slot.admin === undefined) {
      const error = new MusterError('MUSTER_ERR_ACTOR_HOST_DIED', `host ${host} is ${slot.state}`);
      return { spawn: () => Promise.reject(error), stop: () => Promise.reject(error), stats: () => Promise.reject(error) };
    }
    return slot.admin;
  }

  async stats(): Promise<HostStatus[]> {
    return Promise.all(this.hosts.map(async (h) => ({ ...(await this.admin(h).stats()), hostRestarts: this.#slots[h]?.restarts ?? 0 })));
  }

  /** Terminates a worker as if it had crashed (chaos tests, operators): it is restarted like any dead worker. */
  async killHost(host: number): Promise<void> {
    const worker = this.#slots[host]?.worker;
    if (worker === undefined) throw new MusterError('MUSTER_ERR_INVALID_VALUE', `host ${host} has no running worker`);
    const slot = this.#slots[host] as WorkerSlot;
    slot.cause = 'terminated';
    await worker.terminate();
  }

  async shutdown(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#main.close();
    await Promise.all(
      this.#slots.filter(Boolean).map(async (slot) => {
        slot.admin?.hostDied('system shut down');
        const worker = slot.worker;
        slot.worker = undefined;
        slot.state = 'down';
        if (worker !== undefined) await worker.terminate();
      }),
    );
  }

  // ---------------------------------------------------------------- workers

  #newSlot(host: number): WorkerSlot {
    const slot: WorkerSlot = {
      host,
      incarnation: 0,
      worker: undefined,
      admin: undefined,
      state: 'starting',
      cause: undefined,
      restarts: 0,
      budget: new RestartBudget(this.#options.maxHostRestarts ?? DEFAULT_MAX_HOST_RESTARTS, this.#options.hostRestartWindowMs ?? DEFAULT_HOST_RESTART_WINDOW_MS),
    };
    this.#slots[host] = slot;
    return slot;
  }

  /** Starts the worker of `slot` with ports to every other live host; resolves when it is ready. */
  #startWorker(slot: WorkerSlot): Promise<void> {
    const peers: PeerPort[] = [];
    const mainChannel = new MessageChannel();
    this.#main.attachPeer(slot.host, mainChannel.port1);
    peers.push({ host: 0, port: mainChannel.port2 });
    for (const other of this.#slots) {
      if (other === undefined || other === slot || other.worker === undefined) continue;
      const channel = new MessageChannel();
      if (this.#main.sendTopology(other.host, { kind: 'peer-up', host: slot.host, port: channel.port1 }, [channel.port1])) {
        peers.push({ host: other.host, port: channel.port2 });
      } else {
        channel.port1.close(); // that peer is down: it gets a port to this host when it restarts
      }
    }
    const adminChannel = new MessageChannel();
    const actors = [...this.#registry.values()].filter((a) => a.host === slot.host).map(({ id, spec }) => ({ id, spec }));
    const boot: WorkerBoot = {
      host: slot.host,
      incarnation: slot.incarnation,
      peers,
      admin: adminChannel.port2,
      actors,
      logLevel: this.#options.logLevel ?? process.env['MUSTER_LOG_LEVEL'] ?? 'info',
    };
    const worker = new Worker(workerEntry(siblingModule(import.meta.url, 'worker-host')), {
      workerData: boot,
      transferList: [...peers.map((p) => p.port), adminChannel.port2],
      ...(this.#options.resourceLimits ? { resourceLimits: this.#options.resourceLimits } : {}),
    });
    slot.worker = worker;
    slot.state = 'starting';
    slot.cause = undefined;
    slot.admin = new AdminClient(slot.host, adminChannel.port1, this.#options.adminTimeoutMs ?? DEFAULT_ADMIN_TIMEOUT_MS);
    return new Promise<void>((resolve, reject) => {
      worker.on('message', (message: ControlToMain) => {
        switch (message.kind) {
          case 'ready':
            slot.state = 'up';
            for (const f of message.failed) this.#log.error({ host: slot.host, id: f.id, err: f.error }, 'actor could not be re-created');
            resolve();
            return;
          case 'events':
            for (const event of message.events) this.#dispatch(event);
            return;
          default:
            assertNever(message);
        }
      });
      worker.on('error', (err: Error & { code?: string }) => {
        slot.cause = err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'out of memory' : `uncaught error: ${err.message}`;
      });
      worker.on('exit', (code) => {
        if (slot.state === 'starting') reject(new MusterError('MUSTER_ERR_ACTOR_HOST_DIED', `host ${slot.host} died while starting (${slot.cause ?? `exit code ${code}`})`));
        this.#onExit(slot, worker, code);
      });
    });
  }

  #onExit(slot: WorkerSlot, worker: Worker, code: number): void {
    if (slot.worker !== worker || this.#closed) return;
    const cause = slot.cause ?? `exit code ${code}`;
    const wasStarting = slot.state === 'starting';
    slot.worker = undefined;
    slot.state = 'down';
    slot.admin?.hostDied(cause);
    slot.admin = undefined;
    this.#hostDeaths++;
    this.#main.peerDown(slot.host);
    this.#broadcast({ kind: 'peer-down', host: slot.host });
    const actors = [...this.#registry.values()].filter((a) => a.host === slot.host).length;
    this.#log.error({ host: slot.host, incarnation: slot.incarnation, cause, actors }, 'worker host died');
    this.#dispatch({ kind: 'host-died', host: slot.host, cause, actors });
    if (wasStarting && slot.incarnation === 0) return; // create() fails; nothing to restart
    if (!slot.budget.tryRestart(Date.now())) {
      slot.state = 'failed';
      this.#main.peerFailed(slot.host);
      this.#broadcast({ kind: 'peer-failed', host: slot.host });
      this.#log.fatal({ host: slot.host, cause }, 'worker host exhausted its restart budget; its actors are gone');
      this.#dispatch({ kind: 'host-failed', host: slot.host, cause });
      return;
    }
    slot.incarnation++;
    slot.restarts++;
    this.#hostRestarts++;
    this.#restarts.add(HOST_RESTARTS_NAME);
    this.#startWorker(slot).then(
      () => {
        const count = [...this.#registry.values()].filter((a) => a.host === slot.host).length;
        this.#log.warn({ host: slot.host, incarnation: slot.incarnation, actors: count }, 'worker host restarted');
        this.#dispatch({ kind: 'host-restarted', host: slot.host, incarnation: slot.incarnation, actors: count });
      },
      () => {
        // died again while starting: its exit handler has already decided what comes next
      },
    );
  }

  #broadcast(signal: HostSignal): void {
    for (const slot of this.#slots) if (slot?.worker !== undefined) this.#main.sendTopology(slot.host, signal);
  }

  #dispatch(event: ActorEvent): void {
    this.#restarts.observe(event);
    if (event.kind === 'actor-stopped' && event.actor.host !== 0 && event.actor.id < LOCAL_ID_BASE) {
      const entry = this.#registry.get(event.actor.id);
      if (entry?.host === event.actor.host) this.#registry.delete(event.actor.id);
    }
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (err) {
        this.#log.error({ err }, 'actor event listener threw');
      }
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw new MusterError('MUSTER_ERR_SYSTEM_CLOSED', 'the actor system is shut down');
  }
}

export function createActorSystem(options?: ActorSystemOptions): Promise<ActorSystem> {
  return ActorSystem.create(options);
}
