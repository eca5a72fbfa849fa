/**
 * A virtual fleet: the agent port of a simulation. A started attempt reports `started` at once and ends
 * after its scripted duration (or never, if it hangs); a killed attempt ends at once (`timeout` for a time
 * limit, else `killed`). Everything happens on the virtual clock.
 */
import type { AgentPort, AttemptRef, KillReason, ReportRefusal, TaskLaunch } from '../agent-port.js';
import type { VirtualClock } from '../clock.js';
import type { TaskEndReport, TaskStartReport } from '../events.js';
import type { AttemptBehaviour } from './script.js';

export interface FleetReports {
  started(report: TaskStartReport): void;
  ended(report: TaskEndReport): void;
}

export class VirtualFleet implements AgentPort {
  readonly #clock: VirtualClock;
  readonly #behaviour: (launch: TaskLaunch) => AttemptBehaviour;
  #reports: FleetReports | undefined;
  /** Live attempts by `job#task#attempt` → cancel of their scheduled end. */
  readonly #running = new Map<string, () => void>();
  /** Launches seen, for tests (every attempt's environment and node). */
  readonly launches: TaskLaunch[] = [];
  recordLaunches = false;

  constructor(clock: VirtualClock, behaviour: (launch: TaskLaunch) => AttemptBehaviour) {
    this.#clock = clock;
    this.#behaviour = behaviour;
  }

  connect(reports: FleetReports): void {
    this.#reports = reports;
  }

  get running(): number {
    return this.#running.size;
  }

  start(node: string, launch: TaskLaunch): void {
    const reports = this.#reports;
    if (!reports) throw new Error('virtual fleet is not connected');
    if (this.recordLaunches) this.launches.push(launch);
    const key = `${launch.job}#${launch.task}#${launch.attempt}`;
    const now = this.#clock.now();
    const at = { job: launch.job, task: launch.task, attempt: launch.attempt, node };
    reports.started(at);
    const behaviour = this.#behaviour(launch);
    if (behaviour === 'hang') {
      this.#running.set(key, () => {});
      return;
    }
    const cancel = this.#clock.schedule(now + behaviour.durationMs, () => {
      this.#running.delete(key);
      reports.ended({ ...at, outcome: behaviour.outcome, ...(behaviour.exitCode !== undefined ? { exitCode: behaviour.exitCode } : {}) });
    });
    this.#running.set(key, cancel);
  }

  kill(node: string, attempt: AttemptRef, reason: KillReason): void {
    const key = `${attempt.job}#${attempt.task}#${attempt.attempt}`;
    const cancel = this.#running.get(key);
    if (!cancel) return;
    cancel();
    this.#running.delete(key);
    this.#reports?.ended({ ...attempt, node, outcome: reason === 'timeout' ? 'timeout' : 'killed', reason });
  }

  /** A virtual agent keeps nothing to forget: acknowledgements need no answer. */
  acknowledge(): void {}

  /** Refused reports, for tests (a virtual fleet reports only its own attempts: any refusal is a bug). */
  readonly refusals: ReportRefusal[] = [];
  refuse(_node: string, refusal: ReportRefusal): void {
    this.refusals.push(refusal);
  }

  /** A node dies: its attempts stop without a word (the control plane finds out through the node's loss). */
  nodeDied(attempts: readonly AttemptRef[]): void {
    for (const a of attempts) {
      const key = `${a.job}#${a.task}#${a.attempt}`;
      this.#running.get(key)?.();
      this.#running.delete(key);
    }
  }
}
