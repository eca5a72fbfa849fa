/**
 * The environment of an attempt, in three layers, later ones winning:
 *
 * 1. a base: by default only PATH, HOME and LANG (see `baseEnvironment`); with `inheritEnv` the agent's
 *    whole environment. The default is minimal on purpose: the agent's environment holds its own token and
 *    whatever the service manager or the operator's shell put there, which a task must neither see nor
 *    depend on (a task should behave the same on every node, however its agent was started);
 * 2. the task's `env`;
 * 3. muster's own variables, which a task's `env` cannot override (scripts rely on them being true):
 *    MUSTER_JOB_ID, MUSTER_TASK_INDEX, MUSTER_ARRAY_INDEX, MUSTER_ATTEMPT, MUSTER_EPOCH (the epoch of the
 *    `start` command that launched the attempt: the leader's, which grows with every new leader),
 *    MUSTER_NODE.
 */
import type { TaskLaunch } from '../../scheduler/index.js';
import type { RunAs } from './run-as.js';

export type Environment = Record<string, string>;

/** Used when the agent itself has no PATH: the usual system folders, as login(1) would set them. */
export const FALLBACK_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** Used when the agent has no LANG: a UTF-8 locale every glibc and musl system has. */
export const FALLBACK_LANG = 'C.UTF-8';

/**
 * The minimal base. PATH and LANG are the agent's (they say where programs are and how to read bytes on this
 * machine, not who the agent is); HOME is the run-as user's home, else the agent's.
 */
export function baseEnvironment(agentEnv: NodeJS.ProcessEnv, runAs: RunAs | undefined, inherit: boolean): Environment {
  const base: Environment = {};
  if (inherit) {
    for (const [key, value] of Object.entries(agentEnv)) if (value !== undefined) base[key] = value;
  } else {
    base['PATH'] = agentEnv['PATH'] || FALLBACK_PATH;
    base['LANG'] = agentEnv['LANG'] || FALLBACK_LANG;
    const home = agentEnv['HOME'];
    if (home) base['HOME'] = home;
  }
  if (runAs) {
    base['HOME'] = runAs.home;
    base['USER'] = runAs.user;
    base['LOGNAME'] = runAs.user;
  }
  return base;
}

export function attemptEnvironment(base: Readonly<Environment>, launch: TaskLaunch): Environment {
  return {
    ...base,
    ...launch.env,
    MUSTER_JOB_ID: launch.job,
    MUSTER_TASK_INDEX: String(launch.task),
    MUSTER_ARRAY_INDEX: String(launch.arrayIndex),
    MUSTER_ATTEMPT: String(launch.attempt),
    MUSTER_EPOCH: String(launch.epoch),
    MUSTER_NODE: launch.node,
  };
}
