/**
 * Election test kit: a `Replica` is one candidate in this process with its own etcd client, recording every
 * event with the time it came (this process's monotonic clock, shared by every in-process replica, so
 * leadership intervals of different replicas compare); `agreedLeader` waits for one leader all agree on;
 * `leadership` and `overlaps` check that no two replicas ever led at once.
 */
import { performance } from 'node:perf_hooks';
import type { Etcd3 } from 'etcd3';
import { campaign } from '../../src/ha/index.js';
import type { DeposedEvent, ElectedLeader, Election, ElectionOptions, LeaderInfo } from '../../src/ha/index.js';
import { createLogger } from '../../src/log/index.js';
import { until } from '../helpers/until.js';
import { etcdClient } from '../../src/store/index.js';

export type Recorded =
  | { readonly kind: 'elected'; readonly at: number; readonly value: ElectedLeader }
  | { readonly kind: 'deposed'; readonly at: number; readonly value: DeposedEvent }
  | { readonly kind: 'leader'; readonly at: number; readonly value: LeaderInfo | undefined };

type Of<K extends Recorded['kind']> = Extract<Recorded, { kind: K }>;

/** Bounds a wait only to report a failure: long, so that a loaded machine does not fail a passing test. */
export const WAIT_MS = 60_000;

export class Replica {
  readonly id: string;
  readonly client: Etcd3;
  readonly election: Election;
  readonly events: Recorded[] = [];
  readonly #wakers = new Set<() => void>();

  constructor(hosts: readonly string[], id: string, options: Omit<ElectionOptions, 'client' | 'self'>) {
    this.id = id;
    this.client = etcdClient({ endpoints: hosts });
    // Quiet unless asked: three replicas logging every deposition drown tap's output.
    const logger = createLogger({ name: `election-${id}`, ...(process.env['MUSTER_LOG_LEVEL'] === undefined ? { level: 'error' as const } : {}) });
    this.election = campaign({ client: this.client, self: { id, url: `http://${id}.test:7070` }, logger, ...options });
    const record = (event: Recorded): void => {
      this.events.push(event);
      for (const wake of [...this.#wakers]) wake();
    };
    this.election.on('elected', (value) => record({ kind: 'elected', at: performance.now(), value }));
    this.election.on('deposed', (value) => record({ kind: 'deposed', at: performance.now(), value }));
    this.election.on('leader', (value) => record({ kind: 'leader', at: performance.now(), value }));
  }

  get info(): { id: string; url: string } {
    return { id: this.id, url: `http://${this.id}.test:7070` };
  }

  /** The first recorded event of `kind` at index `from` or later that `holds`, now or when it comes. */
  waitFor<K extends Recorded['kind']>(kind: K, holds: (value: Of<K>['value']) => boolean = () => true, from = 0): Promise<Of<K>> {
    return firstEvent([this], kind, holds, [from]).then((found) => found.event);
  }

  /** Calls `wake` after each event this replica records, until the returned function is called. */
  onRecord(wake: () => void): () => void {
    this.#wakers.add(wake);
    return () => void this.#wakers.delete(wake);
  }

  async close(): Promise<void> {
    await this.election.close();
    this.client.close();
  }
}

/**
 * The first event of `kind` that `holds` among `replicas`' events from `marks[i]` on (the replica whose
 * event it is, and the event), now or when one comes; bounded by `WAIT_MS` only to report a failure.
 */
export function firstEvent<K extends Recorded['kind']>(replicas: readonly Replica[], kind: K, holds: (value: Of<K>['value']) => boolean = () => true, marks: readonly number[] = []): Promise<{ replica: Replica; event: Of<K> }> {
  const find = (): { replica: Replica; event: Of<K> } | undefined => {
    for (const [i, replica] of replicas.entries()) {
      const event = replica.events.slice(marks[i] ?? 0).find((e): e is Of<K> => e.kind === kind && holds(e.value as Of<K>['value']));
      if (event !== undefined) return { replica, event };
    }
    return undefined;
  };
  const found = find();
  if (found !== undefined) return Promise.resolve(found);
  return new Promise((resolve, reject) => {
    const stops: (() => void)[] = [];
    const stop = (): void => {
      clearTimeout(timer);
      for (const s of stops) s();
    };
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`no ${kind} event within ${WAIT_MS} ms; events: ${JSON.stringify(replicas.map((r) => ({ id: r.id, events: r.events })))}`));
    }, WAIT_MS);
    for (const replica of replicas) {
      stops.push(
        replica.onRecord(() => {
          const event = find();
          if (event === undefined) return;
          stop();
          resolve(event);
        }),
      );
    }
  });
}

/**
 * Waits until exactly one replica leads and every replica names it, with its epoch, as the leader;
 * `extra` adds a condition on that leader.
 */
export async function agreedLeader(replicas: readonly Replica[], extra: (leader: Replica, epoch: number) => boolean = () => true): Promise<{ leader: Replica; epoch: number }> {
  const state = (): { leading: string[]; known: (number | undefined)[] } => ({
    leading: replicas.filter((r) => r.election.isLeader).map((r) => r.id),
    known: replicas.map((r) => r.election.leader?.epoch),
  });
  const agreed = (): { leader: Replica; epoch: number } | undefined => {
    const leading = replicas.filter((r) => r.election.isLeader);
    const epoch = leading[0]?.election.fence?.epoch;
    if (leading.length !== 1 || epoch === undefined) return undefined;
    if (!replicas.every((r) => r.election.leader?.epoch === epoch && r.election.leader.id === leading[0]!.id)) return undefined;
    return extra(leading[0]!, epoch) ? { leader: leading[0]!, epoch } : undefined;
  };
  await until('one leader all replicas agree on', async () => state(), () => agreed() !== undefined, WAIT_MS, () => JSON.stringify(replicas.map((r) => ({ id: r.id, events: r.events }))));
  return agreed()!;
}

export interface Leadership {
  readonly id: string;
  readonly epoch: number;
  readonly from: number;
  /** When it ended (`deposed.at`), or Infinity while it lasts. */
  readonly to: number;
}

/** Every leadership each replica recorded, as intervals on this process's clock. */
export function leadership(replicas: readonly Replica[]): Leadership[] {
  const out: Leadership[] = [];
  for (const r of replicas) {
    let open: { epoch: number; from: number } | undefined;
    for (const e of r.events) {
      if (e.kind === 'elected') open = { epoch: e.value.epoch, from: e.at };
      if (e.kind === 'deposed' && open !== undefined) {
        out.push({ id: r.id, epoch: open.epoch, from: open.from, to: e.value.at });
        open = undefined;
      }
    }
    if (open !== undefined) out.push({ id: r.id, ...open, to: Infinity });
  }
  return out.sort((a, b) => a.from - b.from);
}

/** Pairs of leaderships of different replicas that overlap in time, or whose epochs do not rise with time. */
export function overlaps(intervals: readonly Leadership[]): string[] {
  const problems: string[] = [];
  for (let i = 0; i < intervals.length; i++) {
    for (let j = i + 1; j < intervals.length; j++) {
      const a = intervals[i]!;
      const b = intervals[j]!;
      if (a.id !== b.id && a.from < b.to && b.from < a.to) problems.push(`${a.id}@${a.epoch} [${a.from}, ${a.to}] overlaps ${b.id}@${b.epoch} [${b.from}, ${b.to}]`);
      if (b.epoch <= a.epoch) problems.push(`${b.id}@${b.epoch} elected after ${a.id}@${a.epoch} with no higher epoch`);
    }
  }
  return problems;
}

/** The candidates' keys in etcd, oldest first, with what they name. */
export async function candidateKeys(client: Etcd3, prefix: string): Promise<{ key: string; createRevision: number; id: string }[]> {
  const res = await client.getAll().prefix(`${prefix}/election/`).sort('Create', 'Ascend').exec();
  return res.kvs.map((kv) => ({ key: kv.key.toString(), createRevision: Number(kv.create_revision), id: (JSON.parse(kv.value.toString()) as { id: string }).id }));
}
