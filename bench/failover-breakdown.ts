/**
 * Where one failover's time went, from what each party saw, as milliseconds since the SIGKILL:
 *
 *   kill ─▶ lease expired ─▶ elected ─▶ store recovered ─▶ leading ─▶ client connected ─▶ first ack
 *          (this process's    (the new leader's logs: election,       (the client's       (the client)
 *           etcd watch)        store, replica lines)                   connection)
 *
 * - lease expired: etcd deleted the killed leader's election key (its lease's TTL ran out since its last
 *   keepalive, plus etcd's expiry sweep); seen by this process's watch (bench/failover-election-watch.ts).
 * - elected: the standby's `election: elected` (its watch saw the deletion; it read the candidates).
 * - store recovered: the etcd store's `recovered N events …` (follower closed, store opened fenced, the
 *   log read after the follower's last seq).
 * - leading: `leading (epoch N): took over in X ms` (the actor system, the core, the gateway serving).
 * - client connected: the client's connection on the new leader (sampled every few ms).
 * - first ack: the first submission the new leader acknowledged.
 *
 * The replicas' log times are wall-clock milliseconds (pino's `time`), this process's are monotonic; each is
 * taken relative to the kill on its own clock. The deletion is seen by this process's watch, the standby
 * sees it through its own: the election step can come out a few milliseconds below zero.
 */
import type { LogLine } from '../test/server/muster-child.js';
import type { ElectionWatch } from './failover-election-watch.js';
import type { ConnectionChange } from './failover-submitter.js';

/** Milliseconds since the kill at which each step was seen (undefined: not seen). */
export interface FailoverSteps {
  readonly leaseExpired: number | undefined;
  readonly elected: number | undefined;
  readonly recovered: number | undefined;
  readonly leading: number | undefined;
  readonly connected: number | undefined;
  readonly firstAck: number;
  /** The replica's own measure of its takeover (`took over in X ms`), and what it read and held. */
  readonly tookOverMs: number | undefined;
  readonly eventsRead: number | undefined;
  readonly jobs: number | undefined;
}

/** The step names, in order, and the step before each (the phases are their differences). */
export const PHASES = [
  { name: 'lease-expiry', from: undefined, to: 'leaseExpired' },
  { name: 'election', from: 'leaseExpired', to: 'elected' },
  { name: 'takeover', from: 'elected', to: 'leading' },
  { name: 'reconnect', from: 'leading', to: 'connected' },
  { name: 'first-ack', from: 'connected', to: 'firstAck' },
] as const satisfies readonly { name: string; from: keyof FailoverSteps | undefined; to: keyof FailoverSteps }[];

export type PhaseName = (typeof PHASES)[number]['name'];

export interface KillMark {
  /** `performance.now()` just before the SIGKILL. */
  readonly at: number;
  /** `Date.now()` at the same moment, for the replicas' log times. */
  readonly wall: number;
}

export interface StepSources {
  readonly kill: KillMark;
  /** The new leader's log lines. */
  readonly logs: readonly LogLine[];
  readonly election: ElectionWatch;
  readonly connections: readonly ConnectionChange[];
  readonly newLeader: string;
  /** `performance.now()` of the first ack by the new leader. */
  readonly firstAckAt: number;
}

function logSince(logs: readonly LogLine[], kill: KillMark, match: (line: LogLine) => boolean): LogLine | undefined {
  return logs.find((l) => typeof l['time'] === 'number' && (l['time'] as number) >= kill.wall && match(l));
}

export function failoverSteps(s: StepSources): FailoverSteps {
  const sinceWall = (line: LogLine | undefined): number | undefined => (line === undefined ? undefined : (line['time'] as number) - s.kill.wall);
  const elected = logSince(s.logs, s.kill, (l) => l.msg === 'election: elected');
  const recovered = logSince(s.logs, s.kill, (l) => l.msg.startsWith('recovered ') && l.msg.includes(' events after '));
  const leading = logSince(s.logs, s.kill, (l) => l.msg.startsWith('leading (epoch '));
  const connected = s.connections.find((c) => c.at >= s.kill.at && c.replica === s.newLeader);
  const expired = s.election.firstDeletionAfter(s.kill.at);
  return {
    leaseExpired: expired === undefined ? undefined : expired.at - s.kill.at,
    elected: sinceWall(elected),
    recovered: sinceWall(recovered),
    leading: sinceWall(leading),
    connected: connected === undefined ? undefined : connected.at - s.kill.at,
    firstAck: s.firstAckAt - s.kill.at,
    tookOverMs: typeof leading?.['ms'] === 'number' ? leading['ms'] : undefined,
    eventsRead: typeof leading?.['caughtUp'] === 'number' ? leading['caughtUp'] : undefined,
    jobs: typeof leading?.['jobs'] === 'number' ? leading['jobs'] : undefined,
  };
}

/** Each phase's milliseconds (undefined when a step at either end was not seen). */
export function phases(steps: FailoverSteps): Record<PhaseName, number | undefined> {
  const out = {} as Record<PhaseName, number | undefined>;
  for (const p of PHASES) {
    const to = steps[p.to];
    const from = p.from === undefined ? 0 : steps[p.from];
    out[p.name] = to === undefined || from === undefined ? undefined : to - from;
  }
  return out;
}

/** One line: each step's time since the kill and each phase's length. */
export function describeSteps(steps: FailoverSteps): string {
  const ms = (n: number | undefined): string => (n === undefined ? '?' : `${Math.round(n)}`);
  const p = phases(steps);
  return (
    `expired ${ms(steps.leaseExpired)}, elected ${ms(steps.elected)}, recovered ${ms(steps.recovered)}, leading ${ms(steps.leading)}, ` +
    `connected ${ms(steps.connected)}, first ack ${ms(steps.firstAck)} ms after the kill ` +
    `(${PHASES.map((x) => `${x.name} ${ms(p[x.name])}`).join(', ')}; took over in ${ms(steps.tookOverMs)} ms reading ${ms(steps.eventsRead)} events, ${ms(steps.jobs)} jobs held)`
  );
}

/** The new leader's log lines from the kill to the first ack, each as `+MS msg`: one failover told by its logs. */
export function timeline(s: StepSources): string[] {
  const end = s.kill.wall + (s.firstAckAt - s.kill.at);
  return s.logs
    .filter((l) => typeof l['time'] === 'number' && (l['time'] as number) >= s.kill.wall && (l['time'] as number) <= end + 50)
    .map((l) => `+${(l['time'] as number) - s.kill.wall} ms ${l.msg}`);
}
