/**
 * Agents' reports, checked against the live attempts before they become events: an end or a start of an
 * attempt that is not live records nothing (each attempt ends once, whether its agent, its node's loss or
 * a registration ended it first); one about an attempt live on another node is refused through the agent
 * port and changes nothing. Ends are acknowledged through the agent port once durable, a batch per node per
 * dispatcher turn, so the agent may forget them. A registration applies the ends the agent kept, records
 * as started what it runs that was only placed, and then asks the node actor to reconcile the rest.
 */
import type { ActorRef } from '../actors/index.js';
import type { AgentPort, AttemptRef } from './agent-port.js';
import type { EventRouter } from './event-router.js';
import { storeFailed } from './event-router.js';
import type { SchedulerEvent, TaskEndReport, TaskStartReport } from './events.js';
import { launchFor } from './launch.js';
import type { CoreCommand, ReconcileResult } from './messages.js';

type TaskEnded = Extract<SchedulerEvent, { kind: 'TaskEnded' }>;

/** The event of an agent's reported end. */
function endEvent(r: TaskEndReport, at: number): TaskEnded {
  return {
    kind: 'TaskEnded',
    at,
    job: r.job,
    task: r.task,
    attempt: r.attempt,
    node: r.node,
    outcome: r.outcome,
    ...(r.exitCode !== undefined ? { exitCode: r.exitCode } : {}),
    ...(r.reason !== undefined ? { reason: r.reason } : {}),
  };
}

export class AgentReports {
  readonly #router: EventRouter;
  readonly #agents: AgentPort;
  readonly #tell: <T>(to: ActorRef<T>, message: T) => void;
  /** Reports acknowledged this turn, per node: sent once the turn's events are durable. */
  #acks = new Map<string, AttemptRef[]>();

  readonly #epoch: number;

  constructor(router: EventRouter, agents: AgentPort, tell: <T>(to: ActorRef<T>, message: T) => void, epoch: number) {
    this.#router = router;
    this.#agents = agents;
    this.#tell = tell;
    this.#epoch = epoch;
  }

  /**
   * What a registration found its agent does not know: a placed attempt that never started is sent its
   * `start` again, under this epoch (the agent never got it: a failover or a restart came between the
   * placement and its dispatch; the agent refuses any copy of an older epoch); any other ends as lost.
   * Answers with the lost ones.
   */
  unreported(msg: Extract<CoreCommand, { kind: 'unreported' }>, now: number): void {
    const lost: AttemptRef[] = [];
    for (const a of msg.attempts) {
      const live = this.#router.live.get(a.job, a.task);
      const entry = this.#router.directory.get(a.job);
      if (live && entry && live.attempt === a.attempt && live.node === msg.node && !live.started) {
        this.#agents.start(msg.node, launchFor(entry.spec, entry.perElement, a.job, a.task, a.attempt, msg.node, this.#epoch));
        continue;
      }
      lost.push(a);
      this.proposedEnd({ kind: 'TaskEnded', at: now, job: a.job, task: a.task, attempt: a.attempt, node: msg.node, outcome: 'lost', reason: msg.reason });
    }
    this.#tell(msg.replyTo, lost);
  }

  /** An `ended` report: recorded if it is the node's live attempt, acknowledged unless refused. */
  ended(msg: TaskEndReport, now: number, id?: string | number): void {
    const verdict = this.#router.live.verdict(msg.node, msg);
    if (verdict === 'elsewhere') return this.#refuse(msg.node, msg, id);
    if (verdict === 'live') this.#router.emit(endEvent(msg, now));
    this.#acknowledge(msg.node, msg);
  }

  started(msg: TaskStartReport, now: number, id?: string | number): void {
    const verdict = this.#router.live.verdict(msg.node, msg);
    if (verdict === 'elsewhere') return this.#refuse(msg.node, msg, id);
    const live = this.#router.live.get(msg.job, msg.task);
    if (verdict !== 'live' || !live || live.started) return;
    live.started = true;
    this.#router.emit({ kind: 'TaskStarted', at: now, job: msg.job, task: msg.task, attempt: msg.attempt });
  }

  /** An end proposed by an actor (a node lost, a registration): recorded once, if the attempt is still live. */
  proposedEnd(e: TaskEnded): void {
    if (this.#router.live.verdict(e.node, e) === 'live') this.#router.emit(e);
  }

  /**
   * A node's agent (re)registered. Its unacknowledged ends are applied first (those of its own live
   * attempts; any other end is known already and ignored: the `registered` reply acknowledges them all),
   * attempts it runs that were placed but not known to have started are recorded as started, and then its
   * node actor, once all of that is durable, works out what to kill and what the agent did not report, and
   * answers.
   */
  reconcile(msg: Extract<CoreCommand, { kind: 'reconcile' }>, now: number): void {
    const ref = this.#router.nodes.get(msg.node);
    if (!ref) return this.#tell<ReconcileResult>(msg.replyTo, { ok: false, code: 'MUSTER_ERR_UNKNOWN_NODE', message: `node ${msg.node} has not joined` });
    for (const end of msg.ended) if (end.node === msg.node) this.proposedEnd(endEvent(end, now));
    for (const r of msg.running) this.started({ job: r.job, task: r.task, attempt: r.attempt, node: msg.node }, now);
    this.#router.touched.add(ref);
    this.#router.afterDurable(
      () => this.#tell(ref, { kind: 'reconcile', running: msg.running, replyTo: msg.replyTo }),
      (failure) => this.#tell(msg.replyTo, storeFailed(failure)),
    );
  }

  /** The turn's acknowledgements leave once its events are durable (dropped if the store fails: agents report again). */
  flush(): void {
    if (this.#acks.size === 0) return;
    const acks = this.#acks;
    this.#acks = new Map();
    this.#router.afterDurable(() => {
      for (const [node, attempts] of acks) this.#agents.acknowledge(node, attempts);
    });
  }

  #acknowledge(node: string, ref: AttemptRef): void {
    const item = { job: ref.job, task: ref.task, attempt: ref.attempt };
    const list = this.#acks.get(node);
    if (list) list.push(item);
    else this.#acks.set(node, [item]);
  }

  /** A report was refused: it names an attempt live on another node. */
  #refuse(node: string, ref: AttemptRef, id: string | number | undefined): void {
    const live = this.#router.live.get(ref.job, ref.task);
    this.#agents.refuse(node, {
      code: 'MUSTER_ERR_FORBIDDEN',
      message: `attempt ${ref.attempt} of ${ref.job} task ${ref.task} runs on node ${live?.node ?? '?'}, not ${node}: a node reports only its own attempts`,
      ...(id !== undefined ? { id } : {}),
    });
  }
}
