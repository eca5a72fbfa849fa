/**
 * `muster server --etcd …`: one replica of a highly available control plane (README.md, "High
 * availability"; DESIGN.md §7). Every replica serves its port from the start and campaigns in the election
 * (src/ha); the one elected leads, the others are hot standbys.
 *
 * - **Standby.** The gateway answers health, metrics and `GET /v1/leader`, and refuses everything else with
 *   `MUSTER_ERR_NOT_LEADER` and the leader's URL. A log follower (src/store, `followEtcdLog`) applies every
 *   event the leader writes to a state in memory with the reducer recovery uses, so the replica holds the
 *   state up to the leader's last write.
 * - **Taking over** (elected, with an epoch: the election key's create revision): the follower stops; the
 *   etcd store is opened fenced by that key and epoch and read from the follower's last seq to the end (only
 *   the events the follower had not applied yet); a leader term (leader-term.ts) starts the core from the
 *   state held, and the gateway serves. Nodes of the state get the grace period to register again, and their
 *   agents' fence outlasts a failover (config.ts, `HA_LOST_AFTER_MS`): a failover alone reschedules nothing.
 * - **Deposed** (its own deadline passed, its key gone, its lease lost, or its store failed or was fenced):
 *   at once, in the same turn, the gateway turns standby — sockets closed, liveness detached, nothing more
 *   started or acknowledged — and the term is abandoned; the replica then follows the log again from the
 *   newest snapshot, and campaigns again (the election does that by itself).
 *
 * Transitions run one at a time on a chain; each checks that the election still says what started it (an
 * `elected` for an epoch already deposed does nothing).
 */
import { randomUUID } from 'node:crypto';
import type { Etcd3 } from 'etcd3';
import type { ActorSystem } from '../actors/index.js';
import type { Gateway } from '../api/index.js';
import type { Election, ElectedLeader } from '../ha/index.js';
import { campaign } from '../ha/index.js';
import type { Logger } from '../log/index.js';
import { createLogger } from '../log/index.js';
import type { BackendName } from '../placement/index.js';
import type { RecoveredScheduler, SchedulerEvent } from '../scheduler/index.js';
import { applyEvent, createState, unpackSnapshot } from '../scheduler/index.js';
import type { EtcdStore, LogFollower } from '../store/index.js';
import { etcdClient, followEtcdLog, openEtcdStore } from '../store/index.js';
import type { EtcdConfig, ServerConfig } from './config.js';
import { etcdSnapshots } from './etcd-snapshots.js';
import { LeaderTerm, startActorSystem } from './leader-term.js';
import type { ServeEnd, ServerEvents } from './server.js';
import { listenGateway } from './server.js';
import { StoreFailureWatch } from './store-failure.js';

type State = RecoveredScheduler['state'];

/** How long a starting replica waits before it tries again to read the log to its end (then it campaigns). */
const CATCH_UP_RETRY_MS = 1_000;

/** How long a standby whose follower stopped on an error (not etcd's unavailability) waits before reading the log again. */
const REFOLLOW_AFTER_MS = 5_000;

export class RunningReplica {
  readonly gateway: Gateway;
  readonly id: string;
  readonly #config: ServerConfig;
  readonly #etcd: EtcdConfig;
  readonly #client: Etcd3;
  readonly #backend: BackendName;
  readonly #log: Logger;
  readonly #events: ServerEvents;
  #election: Election | undefined;
  /** The standby's state and the follower feeding it (while not leading). */
  #state: State = createState(false);
  #follower: LogFollower | undefined;
  /** The current term while leading. */
  #term: LeaderTerm | undefined;
  #termEpoch: number | undefined;
  #chain: Promise<void> = Promise.resolve();
  /**
   * An actor system started ahead for the next term: its worker threads take about half a second to start,
   * which a takeover should not wait for. A term's system is stopped with the term (its actors hold that
   * term's state); a new spare is started after.
   */
  #spare: Promise<ActorSystem> | undefined;
  #stopping: Promise<void> | undefined;
  #stopped = false;
  /** A new follower after one stopped on an error. */
  #refollow: NodeJS.Timeout | undefined;

  private constructor(parts: { gateway: Gateway; config: ServerConfig; etcd: EtcdConfig; backend: BackendName; log: Logger; events: ServerEvents }) {
    this.gateway = parts.gateway;
    this.#config = parts.config;
    this.#etcd = parts.etcd;
    this.#backend = parts.backend;
    this.#log = parts.log;
    this.#events = parts.events;
    this.id = randomUUID();
    this.#client = etcdClient(parts.etcd);
  }

  /**
   * Starts a replica. Without `log`, its lines go to stderr, each saying the replica's role (`leader` or
   * `standby`) and the epoch of the leader it knows.
   */
  static async start(config: ServerConfig, events: ServerEvents = {}, log?: Logger): Promise<RunningReplica> {
    const etcd = config.etcd;
    if (etcd === undefined) throw new Error('RunningReplica.start needs the etcd configuration');
    let replica: RunningReplica | undefined;
    const logger = log ?? createLogger({ name: 'server', mixin: () => (replica ? { role: replica.isLeader ? 'leader' : 'standby', epoch: replica.#election?.leader?.epoch ?? null } : {}) });
    const { gateway, backend } = await listenGateway(config, events, logger);
    gateway.standby(undefined);
    replica = new RunningReplica({ gateway, config, etcd, backend, log: logger, events });
    try {
      replica.#warm();
      replica.#follow();
      void replica.#campaignWhenCaughtUp();
      return replica;
    } catch (err) {
      await replica.stop();
      throw err;
    }
  }

  get url(): string {
    return this.gateway.url;
  }

  get isLeader(): boolean {
    return this.#term !== undefined;
  }

  /**
   * A replica campaigns only once its follower has read the log to its end: a standby that just started
   * (empty, or reading a long log) must not win an election ahead of warm ones, then spend seconds reading
   * at its takeover. etcd unreachable: it tries again, every CATCH_UP_RETRY_MS, until it stops.
   */
  async #campaignWhenCaughtUp(): Promise<void> {
    const started = performance.now();
    while (!this.#stopped) {
      try {
        const seq = await (this.#follower?.caughtUp() ?? Promise.reject(new Error('no follower')));
        this.#log.info({ seq, ms: Math.round(performance.now() - started) }, `caught up with the log at seq ${seq}: campaigning`);
        break;
      } catch (err) {
        this.#log.warn({ err }, `could not read the log to its end yet; trying again in ${CATCH_UP_RETRY_MS} ms before campaigning`);
        await new Promise((resolve) => setTimeout(resolve, CATCH_UP_RETRY_MS).unref());
      }
    }
    if (!this.#stopped) this.#campaign();
  }

  #campaign(): void {
    const election = campaign({
      client: this.#client,
      prefix: this.#etcd.prefix,
      ttlSeconds: this.#etcd.leaseTtlSeconds,
      self: { id: this.id, url: this.url },
      logger: this.#log.child({ part: 'election' }),
    });
    this.#election = election;
    this.gateway.metrics.followLeadership(() => ({ leader: this.#term !== undefined, epoch: this.#termEpoch ?? election.leader?.epoch ?? 0, changes: election.leaderChanges }));
    election.on('leader', (leader) => {
      this.gateway.leaderIs(leader ? { url: leader.url, epoch: leader.epoch } : undefined);
      this.#log.info({ leader: leader?.url ?? null, epoch: leader?.epoch ?? null, self: leader?.id === this.id }, leader ? `the leader is ${leader.url} (epoch ${leader.epoch})` : 'no leader elected');
    });
    election.on('elected', (elected) => this.#enqueue(() => this.#lead(elected)));
    election.on('deposed', ({ epoch, reason }) => {
      // At once, in this turn: nothing is decided, started or acknowledged after the deadline.
      if (this.#termEpoch === epoch) this.gateway.standby(election.leader ? { url: election.leader.url, epoch: election.leader.epoch } : undefined);
      this.#log.warn({ epoch, reason }, `deposed (${reason}): stepping down to standby`);
      this.#enqueue(() => this.#stepDown(epoch));
    });
  }

  #warm(): void {
    if (this.#stopped || this.#spare) return;
    const spare = startActorSystem(this.#config, this.#log);
    spare.catch((err: unknown) => this.#log.warn({ err }, 'starting a spare actor system failed (a takeover will start one)'));
    this.#spare = spare;
  }

  /** The warm spare (or a new system when it failed to start), handed over to a term. */
  async #takeSpare(): Promise<ActorSystem> {
    const spare = this.#spare;
    this.#spare = undefined;
    return (await spare?.catch(() => undefined)) ?? startActorSystem(this.#config, this.#log);
  }

  #enqueue(step: () => Promise<void>): void {
    this.#chain = this.#chain.then(step).catch((err: unknown) => this.#log.error({ err }, 'a leadership transition failed'));
  }

  /** Standby: follows the log from nothing (the newest snapshot, then the log after it). */
  #follow(): void {
    this.#state = createState(false);
    let follower: LogFollower | undefined = undefined;
    follower = followEtcdLog({
      client: this.#client,
      prefix: this.#etcd.prefix,
      after: 0,
      onSnapshot: (snapshot) => {
        this.#state = unpackSnapshot(snapshot.state);
      },
      onEvents: (events) => {
        for (const stored of events) applyEvent(this.#state, stored.event as SchedulerEvent);
      },
      onError: (err) => {
        // etcd unavailable: the follower tries again by itself. Anything else stopped it (the log is damaged,
        // or this replica's seq is past it): the state held is dropped and the log read again from its
        // snapshot after a while (a leader's next snapshot and compaction may have left the damage behind).
        if (err.code === 'MUSTER_ERR_STORE_FAILED') return void this.#log.warn({ err }, 'following the log: etcd did not answer; trying again');
        this.#log.error({ err }, `following the log stopped (${err.code}); reading it again from the snapshot in ${REFOLLOW_AFTER_MS} ms`);
        if (follower === undefined || follower !== this.#follower) return;
        this.#follower = undefined;
        this.#state = createState(false);
        void follower.close();
        clearTimeout(this.#refollow);
        this.#refollow = setTimeout(() => {
          if (!this.#stopped && this.#follower === undefined && this.#term === undefined) this.#follow();
        }, REFOLLOW_AFTER_MS);
        this.#refollow.unref();
      },
      logger: this.#log.child({ part: 'follower' }),
    });
    this.#follower = follower;
  }

  async #lead(elected: ElectedLeader): Promise<void> {
    const election = this.#election;
    if (this.#stopped || !election || election.fence?.epoch !== elected.epoch) return;
    const started = performance.now();
    const follower = this.#follower;
    this.#follower = undefined;
    clearTimeout(this.#refollow);
    await follower?.close();
    // Without a follower (it stopped on an error) nothing is held: the whole store is read.
    if (follower === undefined) this.#state = createState(false);
    const after = follower?.lastSeq ?? 0;
    const watch = new StoreFailureWatch(this.#log.child({ part: 'store' }), 'step-down');
    let store: EtcdStore | undefined;
    try {
      store = await openEtcdStore({ client: this.#client, prefix: this.#etcd.prefix, fence: { key: elected.key, epoch: elected.epoch }, logger: this.#log.child({ part: 'store' }) });
      const read = await store.recover({ after });
      if (read.snapshot) this.#state = unpackSnapshot(read.snapshot.state);
      for (const stored of read.events) applyEvent(this.#state, stored.event as SchedulerEvent);
      if (election.fence?.epoch !== elected.epoch) throw new Error('deposed while taking over');
      const recovered: RecoveredScheduler = { state: this.#state, lastSeq: read.lastSeq, epoch: read.epoch, replayed: read.events.length };
      // A store that fails while leading ends the term as a deposition would: step down, let another lead.
      void watch.failed.then(() => {
        if (this.#termEpoch === elected.epoch) void election.resign();
      });
      this.#termEpoch = elected.epoch;
      const system = await this.#takeSpare();
      this.#term = await LeaderTerm.start({
        system,
        config: this.#config,
        gateway: this.gateway,
        store,
        recovered,
        watch,
        snapshots: etcdSnapshots(store, this.#etcd),
        history: undefined,
        backend: this.#backend,
        log: this.#log,
      });
      const ms = Math.round(performance.now() - started);
      this.#log.info({ epoch: elected.epoch, lastSeq: read.lastSeq, caughtUp: read.events.length, jobs: this.#state.jobs.size, ms }, `leading (epoch ${elected.epoch}): took over in ${ms} ms, ${read.events.length} events read after the standby's state`);
      this.#events.ready?.({ url: this.url, lastSeq: read.lastSeq, replayed: read.events.length, epoch: elected.epoch, jobs: this.#state.jobs.size });
      if (election.fence?.epoch !== elected.epoch) await this.#stepDown(elected.epoch);
    } catch (err) {
      this.#log.warn({ err, epoch: elected.epoch }, 'could not take over: stepping down');
      this.#termEpoch = undefined;
      await store?.close().catch(() => undefined);
      this.gateway.standby(election.leader && election.leader.epoch !== elected.epoch ? { url: election.leader.url, epoch: election.leader.epoch } : undefined);
      this.#warm();
      if (!this.#stopped) this.#follow();
      if (election.fence?.epoch === elected.epoch) await election.resign();
    }
  }

  async #stepDown(epoch: number): Promise<void> {
    if (this.#termEpoch !== epoch) return;
    const term = this.#term;
    this.#term = undefined;
    this.#termEpoch = undefined;
    const leader = this.#election?.leader;
    this.gateway.standby(leader ? { url: leader.url, epoch: leader.epoch } : undefined);
    await term?.abandon();
    this.#warm();
    if (!this.#stopped) this.#follow();
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  /** A replica ends only by a signal: a failed store or a lost election is a step down, not an end. */
  until(signal: Promise<string>): Promise<ServeEnd> {
    return signal.then((name): ServeEnd => ({ kind: 'signal', signal: name }));
  }

  async closeAfterStoreFailure(): Promise<void> {
    await this.stop();
  }

  /**
   * A clean stop: the term (if leading) stops as a single server's does — every acknowledged event durable —
   * then the election is resigned (the next replica takes over at once instead of after the lease's TTL).
   */
  async #stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#refollow);
    this.#log.info('stopping: no new connections or requests');
    this.gateway.stopAccepting();
    await this.#chain;
    const term = this.#term;
    this.#term = undefined;
    if (term) await term.stop(this.gateway, false);
    else this.gateway.closeConnections();
    await this.#follower?.close();
    const spare = this.#spare;
    this.#spare = undefined;
    await (await spare?.catch(() => undefined))?.shutdown();
    // Resigns: the next replica takes over at once (close() bounds its own calls).
    await this.#election?.close();
    this.#client.close();
    this.#log.info(term ? 'stopped: every acknowledged event is durable; leadership handed over' : 'stopped');
  }
}
