/** What an agent is told to run for one attempt, from the job's spec. */
import type { JobSpec } from '../model/index.js';
import type { TaskLaunch } from './agent-port.js';
import { elementOf, groupOf } from './tasks.js';

export function launchFor(spec: JobSpec, perElement: number, job: string, task: number, attempt: number, node: string, epoch: number): TaskLaunch {
  const group = groupOf(spec, perElement, task);
  return {
    job,
    task,
    arrayIndex: elementOf(perElement, task),
    attempt,
    epoch,
    node,
    resources: group.resources,
    command: group.command,
    args: group.args,
    shell: group.shell,
    env: group.env,
    ...(group.workingDir !== undefined ? { workingDir: group.workingDir } : {}),
    ...(group.timeLimitMs !== undefined ? { timeLimitMs: group.timeLimitMs } : {}),
  };
}
