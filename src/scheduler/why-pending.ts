/**
 * Why a job is pending, as data: the reasons (per site and per reason, how many nodes), its position in its
 * queue, and the smallest change that would let it run where one can be named.
 *
 * Reasons come from three places, most decisive first: the job itself (a dependency it waits for, a retry
 * backoff), its queue (at its limit), and the last cycle that tried it (each site's summary ruled it out
 * with a sentence, or the site's solver counted, per reason, the nodes that could not take it).
 */
import type { ReasonCounts } from '../placement/index.js';
import type { Infeasibility } from './feasibility.js';
import { neverRunsMessage } from './feasibility.js';
import type { JobLocation, QueueWhy } from './messages.js';
import type { PreemptedBy } from './events.js';

export type PendingReason =
  | { readonly kind: 'dependency'; readonly job: string; readonly message: string }
  | { readonly kind: 'backoff'; readonly until: number; readonly message: string }
  | { readonly kind: 'queue-limit'; readonly message: string }
  /** Reclaim or priority preemption acted for it, or would and could not (reclaim.ts): which, in words. */
  | { readonly kind: 'preemption'; readonly message: string }
  /** Its queue's blocked head, with a reservation: where and by when it will fit (reservations.ts). */
  | { readonly kind: 'reservation'; readonly start: number; readonly site: string; readonly nodes: number; readonly message: string }
  | { readonly kind: 'cluster-busy'; readonly message: string }
  | { readonly kind: 'site'; readonly site: string; readonly message: string }
  | { readonly kind: 'nodes'; readonly site: string; readonly group: number; readonly counts: ReasonCounts; readonly message: string }
  | { readonly kind: 'not-tried'; readonly message: string }
  /** A task went back to pending because it was preempted (for job `by.job` of queue `by.queue`, at `at`). */
  | { readonly kind: 'preempted'; readonly by: PreemptedBy; readonly at: number; readonly message: string }
  /** Held by a user or an operator (`muster hold`): not placed until released. */
  | { readonly kind: 'held'; readonly message: string }
  /** No node the cluster knows could ever run it (feasibility.ts): every reason, as problems of its spec. */
  | { readonly kind: 'unsatisfiable'; readonly problems: readonly Infeasibility[]; readonly message: string }
  /** No node has joined yet. */
  | { readonly kind: 'no-nodes'; readonly message: string }
  /** Only nodes that are not ready now (draining, suspect, lost, down) could run it. */
  | { readonly kind: 'nodes-unavailable'; readonly unready: readonly { readonly name: string; readonly state: string }[]; readonly message: string };

export interface WhyPending {
  readonly job: string;
  /** 1-based place in its queue's service order (undefined when it is not in the order, e.g. all placed). */
  readonly position: number | undefined;
  readonly reasons: readonly PendingReason[];
  /** The smallest change that would let it run, when one can be named. */
  readonly suggestion: string | undefined;
}

const COUNT_LABELS: Readonly<Record<keyof ReasonCounts, string>> = {
  notReady: 'not ready',
  labels: 'labels do not match',
  distinct: 'already hold a task of this job',
  cpu: 'too little free cpu',
  memory: 'too little free memory',
  gpu: 'too few free gpus',
  extended: 'too little of an extended resource',
};

function describeCounts(site: string, counts: ReasonCounts): string {
  const parts = (Object.keys(COUNT_LABELS) as (keyof ReasonCounts)[]).filter((k) => counts[k] > 0).map((k) => `${counts[k]} ${COUNT_LABELS[k]}`);
  return `site ${site}: no node fits (${parts.join(', ') || 'no nodes'})`;
}

/** What the cluster's nodes say about the job, whatever the last cycle saw (see feasibility.ts). */
type NodesVerdict = Pick<JobLocation, 'never' | 'nodes' | 'onlyUnready'>;

export function explainPending(job: string, q: QueueWhy, cluster?: NodesVerdict): WhyPending {
  const reasons: PendingReason[] = [];
  let suggestion: string | undefined;
  if (q.held) {
    reasons.push({ kind: 'held', message: `its pending tasks are not placed until it is released (muster release ${job})` });
    suggestion = `release it: muster release ${job}`;
  }
  // "Never" comes first and replaces "busy": no amount of waiting for free capacity would help.
  const never = cluster !== undefined && cluster.never.length > 0;
  if (never) {
    reasons.push({ kind: 'unsatisfiable', problems: cluster.never, message: neverRunsMessage(cluster.never) });
  } else if (cluster?.nodes === 0) {
    reasons.push({ kind: 'no-nodes', message: 'no node has registered yet: the job waits for agents to connect' });
  } else if (cluster && cluster.onlyUnready.length > 0) {
    const listed = cluster.onlyUnready.map((n) => `${n.name} ${n.state}`).join(', ');
    reasons.push({ kind: 'nodes-unavailable', unready: cluster.onlyUnready, message: `no ready node could run it; not ready now: ${listed}` });
  }
  if (q.preempted !== undefined) {
    const { by, at } = q.preempted;
    reasons.push({ kind: 'preempted', by, at, message: `preempted by job ${by.job} of queue ${by.queue} at ${new Date(at).toISOString()}` });
  }
  if (q.waitingOn !== undefined) {
    reasons.push({ kind: 'dependency', job: q.waitingOn, message: `waiting for job ${q.waitingOn}` });
    suggestion = `waiting for job ${q.waitingOn} to end`;
  }
  if (q.backoffUntil !== undefined) {
    reasons.push({ kind: 'backoff', until: q.backoffUntil, message: `retry backoff until ${new Date(q.backoffUntil).toISOString()}` });
  }
  const info = q.unplaced;
  if (info?.limit) {
    reasons.push({ kind: 'queue-limit', message: info.limit });
    suggestion ??= `${info.limit}: raise it or wait for its jobs to finish`;
  }
  if (info?.preemption) reasons.push({ kind: 'preemption', message: info.preemption });
  if (info?.reservation) {
    const { start, site, nodes } = info.reservation;
    const message = `waiting for its reservation at ${new Date(start).toISOString()} on ${nodes} node${nodes === 1 ? '' : 's'} of site ${site}; only work sure to end before then runs there meanwhile`;
    reasons.push({ kind: 'reservation', start, site, nodes, message });
  }
  if (info?.busy && !never && cluster?.nodes !== 0) reasons.push({ kind: 'cluster-busy', message: info.busy });
  for (const [site, why] of Object.entries(info?.sites ?? {})) {
    if (typeof why === 'string') {
      reasons.push({ kind: 'site', site, message: why });
    } else {
      const { group, ...counts } = why;
      reasons.push({ kind: 'nodes', site, group, counts, message: describeCounts(site, counts) });
    }
  }
  // Summary sentences "needs N more X on one node in site S" each name a change; the smallest N wins.
  if (suggestion === undefined) {
    let best: { n: number; message: string } | undefined;
    for (const r of reasons) {
      const m = r.kind === 'site' ? /^needs (\d+) more /.exec(r.message) : null;
      if (m && (!best || Number(m[1]) < best.n)) best = { n: Number(m[1]), message: r.message };
    }
    suggestion = best?.message;
  }
  if (never) suggestion ??= 'change the job, or add a node that can run it';
  if (reasons.length === 0) reasons.push({ kind: 'not-tried', message: 'not yet tried by a dispatch cycle' });
  return { job, position: q.position, reasons, suggestion };
}
