/**
 * The chaos run's witness of the durable log: an observer in the test process that follows the replicas'
 * event log in etcd from its first event to the end of the run, exactly as a hot standby does
 * (`followEtcdLog`), but is never faulted itself. Watches of the client API start again on every new
 * leader and may leave gaps; this does not: what the leaders made durable is what it reads, each event once
 * and in seq order, across every failover and etcd member kill.
 *
 * It keeps only the facts the checks need (chaos-checks.ts): which jobs were submitted (id → name), every
 * placement with the epoch of the decision, every task end and job end, and whether the writers' epochs
 * ever went down along the log. A reload from a snapshot (the log compacted past what it had read) or a
 * jump in seq means it did not see everything: that is reported, never papered over.
 */
import type { Etcd3 } from 'etcd3';
import { createLogger } from '../../src/log/index.js';
import type { SchedulerEvent } from '../../src/scheduler/index.js';
import type { LogFollower, StoredEvent } from '../../src/store/index.js';
import { followEtcdLog } from '../../src/store/index.js';
import { etcdClient } from '../../src/store/index.js';

export interface PlacedAttempt {
  readonly job: string;
  readonly task: number;
  readonly attempt: number;
  readonly node: string;
  /** The epoch of the placement decision (the leader's). */
  readonly epoch: number;
  /** The event's time (the leader's clock, ms), for reading a finding. */
  readonly at?: number;
}

export interface EndedAttempt {
  readonly job: string;
  readonly task: number;
  readonly attempt: number;
  readonly node: string;
  readonly outcome: string;
  readonly exitCode?: number;
  readonly reason?: string;
  readonly at?: number;
}

export interface LogFacts {
  /** Job id → its name (the idempotency key, in this run). */
  readonly submitted: ReadonlyMap<string, string | undefined>;
  readonly placed: readonly PlacedAttempt[];
  readonly ended: readonly EndedAttempt[];
  readonly jobEnded: readonly { readonly job: string; readonly outcome: string }[];
  /** Places where a batch's writer epoch was lower than the one before it. */
  readonly epochDescents: readonly string[];
  /** What the observer could not see (a reload from a snapshot, a seq jump). */
  readonly gaps: readonly string[];
  readonly events: number;
  readonly lastSeq: number;
  /** The distinct writer epochs, in log order. */
  readonly epochs: readonly number[];
}

export class ChaosLogObserver {
  readonly #client: Etcd3;
  readonly #follower: LogFollower;
  readonly #submitted = new Map<string, string | undefined>();
  readonly #placed: PlacedAttempt[] = [];
  readonly #ended: EndedAttempt[] = [];
  readonly #jobEnded: { job: string; outcome: string }[] = [];
  readonly #epochDescents: string[] = [];
  readonly #gaps: string[] = [];
  readonly #epochs: number[] = [];
  readonly errors: string[] = [];
  #events = 0;
  #lastSeq = 0;
  #closing: Promise<void> | undefined;

  constructor(endpoints: readonly string[], prefix: string) {
    this.#client = etcdClient({ endpoints });
    this.#follower = followEtcdLog({
      client: this.#client,
      prefix,
      after: 0,
      onSnapshot: (snapshot) => {
        this.#gaps.push(`reloaded from the snapshot at seq ${snapshot.seq} after seq ${this.#lastSeq}: the log was compacted past the observer`);
        this.#lastSeq = snapshot.seq;
      },
      onEvents: (events) => {
        for (const stored of events) this.#take(stored);
      },
      onError: (err) => void this.errors.push(`${err.code}: ${err.message}`),
      logger: createLogger({ name: 'chaos-log', level: 'silent' }),
    });
  }

  #take(stored: StoredEvent): void {
    if (stored.seq !== this.#lastSeq + 1) this.#gaps.push(`seq ${stored.seq} after ${this.#lastSeq}`);
    this.#lastSeq = stored.seq;
    this.#events++;
    const last = this.#epochs.at(-1);
    if (last !== undefined && stored.epoch < last) this.#epochDescents.push(`seq ${stored.seq} written under epoch ${stored.epoch}, after epoch ${last}`);
    if (last === undefined || stored.epoch > last) this.#epochs.push(stored.epoch);
    const event = stored.event as SchedulerEvent;
    switch (event.kind) {
      case 'JobSubmitted':
        this.#submitted.set(event.job, event.spec.name);
        break;
      case 'TasksPlaced':
        for (const p of event.placements) this.#placed.push({ job: p.job, task: p.task, attempt: p.attempt, node: p.node, epoch: event.epoch, at: event.at });
        break;
      case 'TaskEnded':
        this.#ended.push({
          job: event.job,
          task: event.task,
          attempt: event.attempt,
          node: event.node,
          outcome: event.outcome,
          ...(event.exitCode !== undefined ? { exitCode: event.exitCode } : {}),
          ...(event.reason !== undefined ? { reason: event.reason } : {}),
          at: event.at,
        });
        break;
      case 'JobEnded':
        this.#jobEnded.push({ job: event.job, outcome: event.outcome });
        break;
      default:
        break; // queues, nodes, starts, cancels, retirement, key expiry: not what the checks read
    }
  }

  /** Resolves once everything committed at the call has been read. */
  async caughtUp(): Promise<number> {
    return this.#follower.caughtUp();
  }

  facts(): LogFacts {
    return {
      submitted: new Map(this.#submitted),
      placed: [...this.#placed],
      ended: [...this.#ended],
      jobEnded: [...this.#jobEnded],
      epochDescents: [...this.#epochDescents],
      gaps: [...this.#gaps],
      events: this.#events,
      lastSeq: this.#lastSeq,
      epochs: [...this.#epochs],
    };
  }

  close(): Promise<void> {
    this.#closing ??= this.#follower.close().then(() => this.#client.close());
    return this.#closing;
  }
}
