/**
 * From a recovered whole state (snapshot + log, rebuilt by the reducer) to the actors' initial states:
 * each queue actor gets the slice of its queue, each node actor its live attempts, the dispatcher its
 * directory, and each site's table its nodes with what they hold. Nothing is re-dispatched: attempts that
 * were running are still running on their agents, which reconcile when they reconnect.
 */
import type { SchedulerState, TaskRecord } from './state.js';
import { createState, isTerminal } from './state.js';

/** The part of `whole` that the actor of queue `name` owns. Job and queue records are shared, not copied. */
export function sliceFor(whole: SchedulerState, name: string): SchedulerState {
  const slice = createState(true);
  slice.now = whole.now;
  slice.epoch = whole.epoch;
  slice.submitted = whole.submitted;
  const queue = whole.queues.get(name);
  if (queue) slice.queues.set(name, queue);
  for (const [id, job] of whole.jobs) {
    if (job.spec.queue !== name) continue;
    slice.jobs.set(id, job);
    for (const dep of job.spec.dependencies) {
      const list = slice.dependents.get(dep.job);
      if (list) list.push(id);
      else slice.dependents.set(dep.job, [id]);
      const outcome = whole.outcomes.get(dep.job);
      if (outcome) slice.outcomes.set(dep.job, outcome);
    }
  }
  return slice;
}

/** Every live attempt (placed or running) of every job that has not ended. */
export function* liveAttempts(whole: SchedulerState): Generator<{ readonly job: string; readonly task: number; readonly record: TaskRecord }> {
  for (const [id, job] of whole.jobs) {
    if (isTerminal(job.status)) continue;
    for (let t = 0; t < job.tasks.length; t++) {
      const record = job.tasks[t]!;
      if ((record.state === 'placed' || record.state === 'running') && record.node !== undefined) yield { job: id, task: t, record };
    }
  }
}
