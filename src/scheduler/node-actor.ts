/**
 * A node actor: owns one node's state (ready, draining, suspect, lost, down) and its live allocations. It
 * hands allocations to the node's agent through the agent port, kills attempts when told, enforces time
 * limits (a deadline per running attempt, on the scheduler's clock), and when its node is lost it proposes
 * the end of every attempt it held (they are rescheduled by the reducer's retry rules).
 *
 * The attempts a lost node held are remembered as replaced: the node may come back (its agent was only
 * paused or cut off) still running them while their retries run elsewhere, so when it is heard from again
 * (ready again by heartbeat) they are killed before anything new is placed on it. A registration
 * reconciles instead: the agent lists what it runs, and this actor answers what to kill (reported, not
 * live here) and what the agent did not report (live here: lost, unless its start is still on its way).
 */
import type { ActorDefinition, ActorRef } from '../actors/index.js';
import { assertNever, defineActor, reply, same } from '../actors/index.js';
import type { NodeState } from '../model/index.js';
import type { AgentPort, AttemptRef, TaskLaunch } from './agent-port.js';
import type { Clock } from './clock.js';
import type { SchedulerEvent } from './events.js';
import type { DispatcherInbox, NodeMsg, NodeSnapshot } from './messages.js';
import { allocationKey } from './state.js';

function attemptKey(a: AttemptRef): string {
  return `${a.job}#${a.task}#${a.attempt}`;
}

interface LiveAttempt {
  readonly launch: TaskLaunch;
  cancelDeadline: (() => void) | undefined;
  /** Preempted (its kill's grace, if it had its own): killed again when its agent registers still running it. */
  preempted?: { readonly graceMs: number | undefined };
}

export interface NodeActorState {
  readonly name: string;
  state: NodeState;
  readonly live: Map<string, LiveAttempt>;
  /** Attempts ended as lost with the node, by `job#task#attempt`: killed when it is heard from again. */
  readonly replaced: Map<string, TaskLaunch>;
}

/** Private: a running attempt reached its time limit. */
type Deadline = { readonly kind: 'deadline'; readonly key: string; readonly attempt: number };

export interface NodeActorDeps {
  readonly dispatcher: ActorRef<DispatcherInbox>;
  readonly agents: AgentPort;
  readonly clock: Clock;
}

/** An attempt the node already runs (recovery): its launch and when it started (0: not yet started). */
export interface RecoveredAttempt {
  readonly launch: TaskLaunch;
  readonly startedAt: number;
  /** Preempted before the restart: its kill may never have reached the agent. */
  readonly preempted?: { readonly graceMs: number | undefined };
}

export function nodeActor(name: string, initial: NodeState, deps: NodeActorDeps, running: readonly RecoveredAttempt[] = []): ActorDefinition<NodeActorState, NodeMsg | Deadline> {
  return defineActor<NodeActorState, NodeMsg | Deadline>({
    name: 'node',
    supervision: { decide: () => 'stop' },
    mailbox: { capacity: 1 << 20, overflow: 'reject' },
    initial: (ctx) => {
      const live = new Map<string, LiveAttempt>();
      for (const { launch, startedAt, preempted } of running) {
        const key = allocationKey(launch.job, launch.task);
        const limit = launch.timeLimitMs;
        const self = ctx.self;
        const cancelDeadline =
          limit !== undefined && startedAt > 0 ? deps.clock.schedule(startedAt + limit, () => ctx.tell(self, { kind: 'deadline', key, attempt: launch.attempt })) : undefined;
        live.set(key, preempted ? { launch, cancelDeadline, preempted } : { launch, cancelDeadline });
      }
      return { name, state: initial, live, replaced: new Map() };
    },
    behaviour(state, msg, ctx) {
      switch (msg.kind) {
        case 'allocate':
          for (const { launch } of msg.allocations) {
            state.live.set(allocationKey(launch.job, launch.task), { launch, cancelDeadline: undefined });
            deps.agents.start(name, launch);
          }
          return same();
        case 'started': {
          const key = allocationKey(msg.job, msg.task);
          const live = state.live.get(key);
          const limit = live?.launch.timeLimitMs;
          if (live && live.launch.attempt === msg.attempt && limit !== undefined) {
            live.cancelDeadline?.();
            const self = ctx.self;
            live.cancelDeadline = deps.clock.schedule(msg.at + limit, () => ctx.tell(self, { kind: 'deadline', key, attempt: msg.attempt }));
          }
          return same();
        }
        case 'ended': {
          const key = allocationKey(msg.job, msg.task);
          const live = state.live.get(key);
          if (live && live.launch.attempt === msg.attempt) {
            live.cancelDeadline?.();
            state.live.delete(key);
          }
          return same();
        }
        case 'deadline': {
          const live = state.live.get(msg.key);
          if (live && live.launch.attempt === msg.attempt) {
            live.cancelDeadline = undefined;
            deps.agents.kill(name, live.launch, 'timeout');
          }
          return same();
        }
        case 'kill': {
          const live = state.live.get(allocationKey(msg.attempt.job, msg.attempt.task));
          if (!live || live.launch.attempt !== msg.attempt.attempt) return same();
          if (msg.reason === 'preempted') live.preempted = { graceMs: msg.graceMs };
          deps.agents.kill(name, live.launch, msg.reason, msg.graceMs);
          return same();
        }
        case 'evict': {
          // Ended here, as killed (no retry spent: they go back to pending), and killed on the agent; a
          // report of their end that comes later finds nothing live. An agent away now is told at its
          // registration (they are no longer live here, so its reconcile kills them).
          if (state.live.size === 0) return same();
          const events: SchedulerEvent[] = [];
          for (const { launch, cancelDeadline } of state.live.values()) {
            cancelDeadline?.();
            deps.agents.kill(name, launch, 'drain');
            events.push({ kind: 'TaskEnded', at: msg.at, job: launch.job, task: launch.task, attempt: launch.attempt, node: name, outcome: 'killed', reason: msg.reason });
          }
          state.live.clear();
          ctx.tell(deps.dispatcher, { kind: 'propose', events });
          return same();
        }
        case 'state': {
          const was = state.state;
          state.state = msg.state;
          if (msg.state === 'lost' && state.live.size > 0) {
            const events: SchedulerEvent[] = [];
            for (const { launch, cancelDeadline } of state.live.values()) {
              cancelDeadline?.();
              state.replaced.set(attemptKey(launch), launch);
              events.push({ kind: 'TaskEnded', at: msg.at, job: launch.job, task: launch.task, attempt: launch.attempt, node: name, outcome: 'lost', reason: `node ${name} lost` });
            }
            // Ended here at once: the proposed ends come back as 'ended' messages, which then find nothing.
            state.live.clear();
            ctx.tell(deps.dispatcher, { kind: 'propose', events });
          }
          if (msg.state === 'ready' && was !== 'ready') {
            // Heard from again: whatever it still runs of what was given to others stops before new work comes.
            for (const launch of state.replaced.values()) deps.agents.kill(name, launch, 'replaced');
            state.replaced.clear();
          }
          return same();
        }
        case 'reconcile': {
          // Reported but not live here: the agent kills them. Live here but not reported: the caller decides
          // (an attempt whose start is still on its way to the agent is not lost; see agent-endpoint.ts).
          const reported = new Set(msg.running.map(attemptKey));
          const kill = msg.running.filter((r) => state.live.get(allocationKey(r.job, r.task))?.launch.attempt !== r.attempt).map(({ job, task, attempt }) => ({ job, task, attempt }));
          const unreported: AttemptRef[] = [];
          for (const { launch } of state.live.values()) {
            if (!reported.has(attemptKey(launch))) unreported.push({ job: launch.job, task: launch.task, attempt: launch.attempt });
          }
          // The agent's own list now says what it runs: whatever of the replaced ones it still ran is in `kill`.
          state.replaced.clear();
          // A preempted attempt it still runs may never have had its kill (a restart, a link down): again,
          // after the registration's reply (the port holds frames for a registering node until then).
          for (const r of msg.running) {
            const live = state.live.get(allocationKey(r.job, r.task));
            if (live?.preempted && live.launch.attempt === r.attempt) deps.agents.kill(name, live.launch, 'preempted', live.preempted.graceMs);
          }
          return reply(msg.replyTo, { ok: true, kill, unreported });
        }
        case 'barrier':
          return reply(msg.replyTo, { kind: 'barrier-ack' });
        case 'inspect': {
          const snapshot: NodeSnapshot = {
            name,
            state: state.state,
            allocations: [...state.live.values()].map(({ launch }) => ({ job: launch.job, task: launch.task, attempt: launch.attempt, resources: launch.resources })),
          };
          return reply(msg.replyTo, snapshot);
        }
        default:
          return assertNever(msg);
      }
    },
  });
}
