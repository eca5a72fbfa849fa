/**
 * From a recording and policy changes to a simulation script (src/scheduler/sim/script.ts). With no
 * changes the script is the baseline: the recorded policy re-run on the same submissions, node events and
 * attempt lengths. Changes are checked against the history first: a queue, site or node it does not have is
 * a coded error naming the flag.
 *
 * Job ids: the simulation numbers jobs as it submits them (`j-1`, `j-2`, … — the dispatcher's ids — at each
 * instant one batch per tenant, tenants in order of first appearance). The script lists the jobs in that
 * order, so the id each will get is known in advance and dependencies are rewritten to it; `expectedIds`
 * lets the runner check the assumption after the run.
 */
import { MusterError } from '../errors/index.js';
import type { Mutable, NodeSpec, NodeState, QueueSpec, ResourceLimit } from '../model/index.js';
import { queueSetProblems } from '../model/index.js';
import type { SimJob, SimScript } from '../scheduler/index.js';
import { attemptBehaviour, measuredLengths, median } from './attempt-behaviour.js';
import type { NodeChange, PolicyChanges, QueueFieldChange } from './changes.js';
import { KNOB_FIELDS } from './changes.js';
import type { RecordedJob, Recording } from './recording.js';

export interface WhatIfScript {
  readonly script: SimScript;
  /** The id the simulation gives `script.jobs[i]`. */
  readonly expectedIds: readonly string[];
}

/** The id the dispatcher gives the `n`-th job submitted (from 1). */
function simulatedId(n: number): string {
  return `j-${n}`;
}

export function buildScript(recording: Recording, changes: PolicyChanges): WhatIfScript {
  const jobs = submissionOrder(recording.jobs);
  const expectedIds = jobs.map((_, i) => simulatedId(i + 1));
  const idOf = new Map(jobs.map((job, i) => [job.id, expectedIds[i] as string]));
  const indexOf = new Map(jobs.map((job, i) => [job.id, i]));
  const facts = { endMs: recording.spanMs, medianMs: median(recording.jobs.flatMap(measuredLengths)) };
  const simJobs = jobs.map((job): SimJob => {
    const dependencies = job.spec.dependencies.map((d) => ({ ...d, job: idOf.get(d.job) ?? d.job }));
    const spec = { ...job.spec, dependencies, ...(changes.strategy ? { strategy: changes.strategy } : {}) };
    return { at: job.at, tenant: job.tenant, spec, behaviour: attemptBehaviour(job, facts) };
  });
  const cancels = recording.cancels.flatMap((c) => {
    const job = indexOf.get(c.job);
    return job === undefined ? [] : [{ at: c.at, job }];
  });
  const fleet = changedFleet(recording, changes.nodes);
  return {
    script: {
      sites: [...new Set(recording.nodeJoins.map((j) => j.spec.site))].sort(),
      queues: changedQueues(recording, changes),
      nodes: fleet.nodes,
      nodeStates: fleet.nodeStates,
      jobs: simJobs,
      cancels,
    },
    expectedIds,
  };
}

/** Stable: by time, then (within an instant) by tenant in order of first appearance, then as recorded. */
function submissionOrder(jobs: readonly RecordedJob[]): RecordedJob[] {
  const tenantRank = new Map<string, number>();
  for (const job of jobs) {
    const key = `${job.at}\u0000${job.tenant}`;
    if (!tenantRank.has(key)) tenantRank.set(key, tenantRank.size);
  }
  const rank = (job: RecordedJob): number => tenantRank.get(`${job.at}\u0000${job.tenant}`) as number;
  return jobs.map((job, i) => ({ job, i })).sort((a, b) => a.job.at - b.job.at || rank(a.job) - rank(b.job) || a.i - b.i).map((x) => x.job);
}

function changedQueues(recording: Recording, changes: PolicyChanges): QueueSpec[] {
  const queues = new Map(recording.queues);
  const where = new Map<string, string>();
  const base = (queue: string, source: string): QueueSpec => {
    const defined = queues.get(queue);
    if (defined) return defined;
    const user = recording.jobs.find((j) => j.spec.queue === queue);
    if (!user) {
      const known = [...new Set([...recording.queues.keys(), ...recording.jobs.map((j) => j.spec.queue)])].sort();
      throw new MusterError('MUSTER_ERR_USAGE', `${source}: the history has no queue ${queue} (it has ${known.join(', ') || 'none'})`);
    }
    // A queue jobs named without a definition has the reducer's defaults, owned by its first job's tenant.
    return { tenant: user.tenant, name: queue, weight: 1, priority: 0, guaranteedShare: 0, borrow: true };
  };
  for (const change of changes.queueWeights) queues.set(change.queue, { ...base(change.queue, change.source), weight: change.weight });
  for (const change of changes.queueFields) {
    queues.set(change.queue, withField(base(change.queue, change.source), change));
    where.set(change.queue, change.source);
  }
  // The changed queues must still agree with the rest (parents, guarantees that fit), as an apply must.
  const problems = queueSetProblems(queues, where);
  if (problems.length > 0) throw new MusterError('MUSTER_ERR_USAGE', problems.map((p) => `${p.path.replace(/\.[a-zA-Z]+$/, '')}: ${p.message}`).join('; '));
  return [...queues.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The spec with one field changed. A resource of a guarantee, limit or borrowing limit is set beside the
 * others it has; a guarantee in amounts replaces a share and a share replaces amounts (a spec has one form).
 */
function withField(spec: QueueSpec, change: QueueFieldChange): QueueSpec {
  const { field, value } = change;
  if (field === 'guarantee' || field === 'limit' || field === 'borrowLimit') {
    const given = value as ResourceLimit;
    const before = spec[field];
    const merged: ResourceLimit = { ...before, ...given, extended: { ...before?.extended, ...given.extended } };
    const out: Mutable<QueueSpec> = { ...spec, [field]: merged };
    if (field === 'guarantee') out.guaranteedShare = 0;
    if (field === 'borrowLimit') out.borrow = true;
    return out;
  }
  const out: Mutable<QueueSpec> = { ...spec, [KNOB_FIELDS[field]]: value };
  if (field === 'guaranteedShare') delete out.guarantee;
  if (field === 'borrow' && value === false) delete out.borrowLimit;
  return out;
}

interface Fleet {
  readonly nodes: { readonly at: number; readonly spec: NodeSpec }[];
  readonly nodeStates: { readonly at: number; readonly node: string; readonly state: NodeState }[];
}

function changedFleet(recording: Recording, changes: readonly NodeChange[]): Fleet {
  const firstJoin = new Map<string, { at: number; spec: NodeSpec }>();
  for (const join of recording.nodeJoins) if (!firstJoin.has(join.spec.name)) firstJoin.set(join.spec.name, join);
  const inSite = (site: string): string[] => [...firstJoin.values()].filter((j) => j.spec.site === site).map((j) => j.spec.name);
  const removed = new Set<string>();
  const drained = new Set<string>();
  const added: { at: number; spec: NodeSpec }[] = [];
  const names = new Set(firstJoin.keys());
  for (const change of changes) {
    switch (change.kind) {
      case 'drainNode':
      case 'removeNode':
        if (!firstJoin.has(change.node)) throw new MusterError('MUSTER_ERR_UNKNOWN_NODE', `${change.source}: no node ${change.node} joined in the history`);
        (change.kind === 'drainNode' ? drained : removed).add(change.node);
        break;
      case 'addNodes':
      case 'removeNodes': {
        const site = inSite(change.site);
        if (site.length === 0) throw new MusterError('MUSTER_ERR_UNKNOWN_SITE', `${change.source}: no node of site ${change.site} joined in the history`);
        if (change.kind === 'removeNodes') {
          const left = site.filter((n) => !removed.has(n));
          if (change.count > left.length) throw new MusterError('MUSTER_ERR_USAGE', `${change.source}: site ${change.site} has ${left.length} nodes left to remove`);
          for (const name of left.slice(left.length - change.count)) removed.add(name);
          break;
        }
        const shape = (firstJoin.get(site[0] as string) as { spec: NodeSpec }).spec;
        for (let k = 1, made = 0; made < change.count; k++) {
          const name = `${shape.name}-whatif-${k}`;
          if (names.has(name)) continue;
          names.add(name);
          added.push({ at: 0, spec: { ...shape, name, state: 'ready' } });
          made++;
        }
        break;
      }
    }
  }
  const nodes = [...recording.nodeJoins.filter((j) => !removed.has(j.spec.name)), ...added];
  const drains = [...drained].filter((n) => !removed.has(n)).map((node) => ({ at: (firstJoin.get(node) as { at: number }).at, node, state: 'draining' as const }));
  const kept = recording.nodeStates.filter((s) => !removed.has(s.node) && !drained.has(s.node));
  const nodeStates = [...kept, ...drains].map((s, i) => ({ s, i })).sort((a, b) => a.s.at - b.s.at || a.i - b.i).map((x) => x.s);
  return { nodes, nodeStates };
}
