/**
 * A queue actor: owns the jobs of one queue — their records (a slice of the scheduler state, kept by the
 * same reducer that rebuilds the whole state), the order they are served in, and why each one is still
 * pending. It applies the events the dispatcher routes to it, proposes their consequences back (a job
 * ending, attempts to kill), and offers candidates when the dispatcher runs a cycle.
 */
import type { ActorDefinition, ActorRef } from '../actors/index.js';
import { assertNever, defineActor, reply, same, stop } from '../actors/index.js';
import type { Resources } from '../model/index.js';
import { applyEvent } from './apply.js';
import type { Candidate } from './candidates.js';
import { candidatesOf, firstTasks } from './candidates.js';
import { consequences, dependencies } from './decide.js';
import type { SchedulerEvent } from './events.js';
import type { DispatcherMsg, QueueMsg, QueueWhy, UnplacedInfo } from './messages.js';
import { PendingOrder } from './pending-order.js';
import type { JobRecord, SchedulerState } from './state.js';
import { createState, isTerminal } from './state.js';
import { attemptNode, jobDetail, jobSlicePage, queueView } from './views.js';

/**
 * Most jobs an offer looks at beyond those that yield candidates (jobs waiting on a dependency or a
 * backoff at the head of the queue). Bounds the cost of a cycle when the head is blocked; jobs further
 * back wait until the head clears.
 */
export const MAX_OFFER_LOOKAHEAD = 1024;

type Budget = { readonly cpu: number; readonly memory: number; readonly gpu: number };

export interface QueueState {
  readonly name: string;
  readonly slice: SchedulerState;
  readonly order: PendingOrder;
  /**
   * Per job, the first task that may still be pending (see `candidatesOf`); absent means 0. Sparse: most
   * pending jobs have never been scanned, and an entry each would cost memory per pending job.
   */
  readonly cursors: Map<string, number>;
  readonly unplaced: Map<string, UnplacedInfo>;
  /** Jobs whose end this actor proposed and has not yet seen applied. */
  readonly ending: Set<string>;
  /** The cluster's free capacity at the last offer (why-pending tells a job the cluster is too busy for it). */
  lastBudget: Budget | undefined;
}

function setCursor(state: QueueState, job: string, cursor: number): void {
  if (cursor === 0) state.cursors.delete(job);
  else state.cursors.set(job, cursor);
}

function track(state: QueueState, job: JobRecord, fromTask: number): void {
  if (isTerminal(job.status) || job.held) {
    // A held job leaves the service order (so it never blocks an offer's lookahead) until released.
    state.order.remove(job.id);
    state.unplaced.delete(job.id);
    if (isTerminal(job.status)) state.cursors.delete(job.id);
    else setCursor(state, job.id, Math.min(state.cursors.get(job.id) ?? 0, fromTask));
    return;
  }
  const cursor = state.cursors.get(job.id);
  if (cursor !== undefined && fromTask < cursor) setCursor(state, job.id, fromTask);
  if (job.tasks[fromTask]?.state === 'pending') state.order.add(job.id, job.spec.priority, job.order);
}

function onEvent(state: QueueState, e: SchedulerEvent, dispatcher: ActorRef<DispatcherMsg>, tell: <T>(to: ActorRef<T>, m: T) => void): void {
  applyEvent(state.slice, e);
  switch (e.kind) {
    case 'JobSubmitted': {
      const job = state.slice.jobs.get(e.job);
      if (job) track(state, job, 0);
      break;
    }
    case 'TaskEnded': {
      const job = state.slice.jobs.get(e.job);
      if (job) track(state, job, e.task);
      break;
    }
    case 'JobEnded': {
      state.ending.delete(e.job);
      const job = state.slice.jobs.get(e.job);
      if (job) track(state, job, 0);
      break;
    }
    case 'JobHeld':
    case 'JobReleased': {
      const job = state.slice.jobs.get(e.job);
      const first = job ? job.tasks.findIndex((t) => t.state === 'pending') : -1;
      if (job) track(state, job, Math.max(0, first));
      break;
    }
    case 'JobCancelRequested':
    case 'TasksPlaced':
    case 'TaskStarted':
    case 'TasksPreempted':
    case 'QueueDefined':
    // A deletion is never routed here as an event: the router sends `deleted` instead.
    case 'QueueDeleted':
    case 'NodeJoined':
    case 'NodeStateChanged':
    case 'NodeDrainRequested':
    case 'NodeUndrained':
    // Retired jobs had ended: they were out of the order, cursors and reasons already; the reducer drops the records.
    case 'JobsRetired':
    case 'KeysExpired':
      break;
    default:
      assertNever(e);
  }
  const next = consequences(state.slice, e);
  const events = next.events.filter((c) => {
    if (c.kind !== 'JobEnded') return true;
    if (state.ending.has(c.job)) return false;
    state.ending.add(c.job);
    return true;
  });
  if (events.length > 0) tell(dispatcher, { kind: 'propose', events });
  if (next.kills.length > 0) tell(dispatcher, { kind: 'kill', kills: next.kills });
}

function within(d: Budget, left: Budget): boolean {
  return d.cpu <= left.cpu && d.memory <= left.memory && d.gpu <= left.gpu;
}

function shortOf(d: Budget, left: Budget): string {
  const dim = d.cpu > left.cpu ? 'cpu' : d.memory > left.memory ? 'memory' : 'gpu';
  const unit = dim === 'cpu' ? 'm' : dim === 'memory' ? 'Mi' : '';
  return `all ready nodes together have too little free ${dim} (needs ${d[dim]}${unit}, ${Math.max(0, left[dim])}${unit} free)`;
}

/** How many of `each` fit in `left` (unbounded when each is 0). */
function per(left: number, each: number): number {
  return each === 0 ? Number.MAX_SAFE_INTEGER : Math.floor(left / each);
}

/**
 * Candidates in service order, at most `max`, and no more in all than the cluster's free `budget` could
 * hold (more would only be turned away). A candidate larger than what is left is passed over, so a big job
 * at the head does not hold back small ones this cycle; it is named as the queue's `head`, whole, so it can
 * get a reservation (reservations.ts) and the small ones cannot starve it.
 */
function offer(state: QueueState, now: number, max: number, budget: Budget, reserved: readonly string[] = []): { candidates: Candidate[]; head: Candidate | undefined; wakeAt: number } {
  const candidates: Candidate[] = [];
  let head: Candidate | undefined;
  const left = { cpu: budget.cpu, memory: budget.memory, gpu: budget.gpu };
  // Jobs room is held for come first: what is held for them is part of the budget, and no one else may use it.
  const first = new Set<string>();
  for (const id of reserved) {
    const job = state.slice.jobs.get(id);
    if (!job || isTerminal(job.status) || job.cancelRequested || job.held) continue;
    for (const c of candidatesOf(job, now, max - candidates.length, state.cursors.get(id) ?? 0).candidates) {
      head ??= c;
      candidates.push(c);
      left.cpu -= c.demand.cpu;
      left.memory -= c.demand.memory;
      left.gpu -= c.demand.gpu;
    }
    first.add(id);
  }
  let wakeAt = Infinity;
  let lookahead = MAX_OFFER_LOOKAHEAD;
  const done: string[] = [];
  state.order.forEach((id) => {
    // With the budget spent, the scan goes on only to name the head.
    const spent = left.cpu <= 0 && left.memory <= 0 && left.gpu <= 0;
    if (spent && head) return false;
    const job = state.slice.jobs.get(id);
    if (!job || isTerminal(job.status) || job.cancelRequested) {
      done.push(id);
      return true;
    }
    if (first.has(id)) return true;
    if (dependencies(state.slice, job).kind !== 'met') return --lookahead > 0;
    if (spent || !someTaskFits(job, left)) {
      head ??= candidatesOf(job, now, 1, state.cursors.get(id) ?? 0).candidates[0];
      return --lookahead > 0;
    }
    const scan = candidatesOf(job, now, max - candidates.length, state.cursors.get(id) ?? 0);
    head ??= scan.candidates[0];
    setCursor(state, id, scan.next);
    wakeAt = Math.min(wakeAt, scan.wakeAt);
    if (scan.candidates.length === 0 && scan.next >= job.tasks.length) done.push(id);
    let took = false;
    for (let c of scan.candidates) {
      if (!within(c.demand, left)) {
        // Independent tasks: offer as many as the budget holds; the rest stay pending.
        const r = c.request.tasks[0]?.resources;
        const k = r ? Math.min(per(left.cpu, r.cpu), per(left.memory, r.memory), per(left.gpu, r.gpu)) : 0;
        const cut = firstTasks(c, k);
        if (!cut) continue;
        c = cut;
      }
      const d = c.demand;
      left.cpu -= d.cpu;
      left.memory -= d.memory;
      left.gpu -= d.gpu;
      candidates.push(c);
      took = true;
    }
    if (!took) return --lookahead > 0;
    return candidates.length < max;
  });
  for (const id of done) state.order.remove(id);
  state.lastBudget = budget;
  return { candidates, head, wakeAt };
}

/** Most candidates one queue names as claims in one cycle (reclaim takes them one by one). */
export const MAX_CLAIMS = 64;

/**
 * For a queue below its guarantee: its next candidates beyond the budget, in service order, of jobs not
 * offered this cycle, up to `claim` in each resource it names (reclaim.ts preempts borrowers for them).
 */
function claims(state: QueueState, now: number, claim: Resources, offered: readonly Candidate[]): Candidate[] {
  const out: Candidate[] = [];
  const skip = new Set(offered.map((c) => c.job));
  const left = { cpu: claim.cpu, memory: claim.memory, gpu: claim.gpu };
  const counts = (d: Resources): boolean => (claim.cpu > 0 && d.cpu > 0) || (claim.memory > 0 && d.memory > 0) || (claim.gpu > 0 && d.gpu > 0);
  let lookahead = MAX_OFFER_LOOKAHEAD;
  state.order.forEach((id) => {
    const job = state.slice.jobs.get(id);
    if (skip.has(id) || !job || isTerminal(job.status) || job.cancelRequested || dependencies(state.slice, job).kind !== 'met') return --lookahead > 0;
    for (const c of candidatesOf(job, now, MAX_CLAIMS - out.length, state.cursors.get(id) ?? 0).candidates) {
      if (!counts(c.demand)) continue;
      out.push(c);
      left.cpu -= claim.cpu > 0 ? c.demand.cpu : 0;
      left.memory -= claim.memory > 0 ? c.demand.memory : 0;
      left.gpu -= claim.gpu > 0 ? c.demand.gpu : 0;
      if (left.cpu <= 0 && left.memory <= 0 && left.gpu <= 0) return false;
    }
    return out.length < MAX_CLAIMS;
  });
  return out;
}

/** Jobs scanned, from the front of the order, for ones that may preempt (`mayPreempt`) when none was offered. */
export const PREEMPTOR_LOOKAHEAD = 32;

/**
 * Jobs near the front of the order that say `mayPreempt` and got no offer this cycle (the budget was spent
 * before them): reclaim.ts may preempt lower priorities of this queue for them.
 */
function preemptors(state: QueueState, now: number, offered: readonly Candidate[], head: Candidate | undefined): Candidate[] {
  const out: Candidate[] = [];
  const skip = new Set(offered.map((c) => c.job));
  if (head) skip.add(head.job);
  let scanned = 0;
  state.order.forEach((id) => {
    const job = state.slice.jobs.get(id);
    if (job && job.spec.mayPreempt === true && !skip.has(id) && !isTerminal(job.status) && !job.cancelRequested && dependencies(state.slice, job).kind === 'met') {
      const c = candidatesOf(job, now, 1, state.cursors.get(id) ?? 0).candidates[0];
      if (c) out.push(c);
    }
    return ++scanned < PREEMPTOR_LOOKAHEAD;
  });
  return out;
}

/** Whether the job's smallest task (per group) fits in what is left: a cheap test before building candidates. */
function someTaskFits(job: JobRecord, left: Budget): boolean {
  for (const g of job.spec.tasks) {
    const r = g.resources;
    if (r.cpu <= left.cpu && r.memory <= left.memory && r.gpu <= left.gpu) return true;
  }
  return false;
}

/** The whole pending demand of what the job could place now (a gang element whole, else one task). */
function pendingDemand(job: JobRecord): Budget {
  const d = { cpu: 0, memory: 0, gpu: 0 };
  for (const g of job.spec.tasks) {
    const n = job.spec.gang ? g.count : 1;
    d.cpu += g.resources.cpu * n;
    d.memory += g.resources.memory * n;
    d.gpu += g.resources.gpu * n;
    if (!job.spec.gang) break;
  }
  return d;
}

function why(state: QueueState, id: string): QueueWhy {
  const job = state.slice.jobs.get(id);
  const verdict = job ? dependencies(state.slice, job) : undefined;
  let backoffUntil: number | undefined;
  let preempted: QueueWhy['preempted'];
  for (const task of job?.tasks ?? []) {
    if (task.state !== 'pending') continue;
    if (task.notBefore > state.slice.now) backoffUntil = Math.min(backoffUntil ?? Infinity, task.notBefore);
    const last = task.attempts?.[task.attempts.length - 1];
    if (last?.preemptedBy !== undefined && last.preemptedAt !== undefined && (preempted === undefined || last.preemptedAt > preempted.at)) preempted = { by: last.preemptedBy, at: last.preemptedAt };
  }
  let unplaced = state.unplaced.get(id);
  const demand = job && pendingDemand(job);
  if (demand && state.lastBudget && !within(demand, state.lastBudget)) {
    unplaced = { ...unplaced, job: id, at: state.slice.now, sites: unplaced?.sites ?? {}, busy: shortOf(demand, state.lastBudget) };
  }
  return {
    position: state.order.position(id),
    unplaced,
    waitingOn: verdict?.kind === 'waiting' ? verdict.on : undefined,
    backoffUntil,
    held: job !== undefined && job.held && job.tasks.some((t) => t.state === 'pending'),
    ...(preempted !== undefined ? { preempted } : {}),
  };
}

/** The actor's state from a recovered slice: every job that has not ended is put back in its place in the order. */
function restored(name: string, slice: SchedulerState): QueueState {
  const state: QueueState = { name, slice, order: new PendingOrder(), cursors: new Map(), unplaced: new Map(), ending: new Set(), lastBudget: undefined };
  const jobs = [...slice.jobs.values()].sort((a, b) => a.order - b.order);
  for (const job of jobs) {
    const first = job.tasks.findIndex((t) => t.state === 'pending');
    if (!isTerminal(job.status) && first >= 0) track(state, job, first);
  }
  return state;
}

/**
 * Restarts allowed in the window below before a queue actor stops for good: a restart keeps every record
 * (see below), so a rare fault costs one message; one that recurs this often is a bug restarting cannot fix,
 * and cycles then go on without the queue (they close at their deadline without its offer).
 */
export const QUEUE_MAX_RESTARTS = 10;
export const QUEUE_RESTART_WINDOW_MS = 60_000;

export function queueActor(name: string, dispatcher: ActorRef<DispatcherMsg>, slice?: SchedulerState): ActorDefinition<QueueState, QueueMsg> {
  // The records live on across restarts: a restart rebuilds the service order, cursors and reasons from the
  // slice as it stands (the message that threw is dropped, and logged and counted by the runtime).
  let records = slice;
  return defineActor<QueueState, QueueMsg>({
    name: 'queue',
    supervision: { decide: () => 'restart', maxRestarts: QUEUE_MAX_RESTARTS, withinMs: QUEUE_RESTART_WINDOW_MS },
    mailbox: { capacity: 1 << 20, overflow: 'reject' },
    initial: () => {
      const state: QueueState = records
        ? restored(name, records)
        : { name, slice: createState(true), order: new PendingOrder(), cursors: new Map(), unplaced: new Map(), ending: new Set(), lastBudget: undefined };
      records = state.slice;
      return state;
    },
    behaviour(state, msg, ctx) {
      switch (msg.kind) {
        case 'event':
          for (const [job, outcome] of Object.entries(msg.outcomes ?? {})) state.slice.outcomes.set(job, outcome);
          onEvent(state, msg.event, dispatcher, (to, m) => ctx.tell(to, m));
          return same();
        case 'offer': {
          const { candidates, head, wakeAt } = offer(state, msg.now, msg.max, msg.budget, msg.reserved);
          const usage = state.slice.queues.get(name)?.usage ?? { cpu: 0, memory: 0, gpu: 0, extended: {} };
          const claimed = [...(msg.claim ? claims(state, msg.now, msg.claim, candidates) : []), ...preemptors(state, msg.now, candidates, head)];
          return reply(msg.replyTo, { kind: 'offered', generation: msg.generation, queue: name, candidates, ...(head ? { head } : {}), ...(claimed.length > 0 ? { claims: claimed } : {}), usage, wakeAt });
        }
        case 'unplaced':
          for (const item of msg.items) if (state.slice.jobs.has(item.job)) state.unplaced.set(item.job, item);
          return same();
        case 'why':
          return reply(msg.replyTo, why(state, msg.job));
        case 'barrier':
          return reply(msg.replyTo, { kind: 'barrier-ack' });
        case 'inspect':
          return reply(msg.replyTo, state.slice);
        case 'jobs':
          return reply(msg.replyTo, jobSlicePage(state.slice, msg.query));
        case 'job': {
          const job = state.slice.jobs.get(msg.job);
          return reply(msg.replyTo, { detail: job && jobDetail(job) });
        }
        case 'attemptNode': {
          const job = state.slice.jobs.get(msg.job);
          return reply(msg.replyTo, { node: job && attemptNode(job, msg.task, msg.attempt) });
        }
        case 'queueView':
          return reply(msg.replyTo, queueView(msg.spec, state.slice.queues.get(name), state.order.size));
        case 'deleted':
          return stop();
        default:
          return assertNever(msg);
      }
    },
  });
}
