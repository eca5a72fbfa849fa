/**
 * A job: what a tenant submits. One or more task groups (count × resources, a command), constraints on
 * where they may run, a placement strategy, and the policies around them (gang, array, dependencies,
 * retries). `readJob` turns the written form (JSON or YAML) into a normalized `JobSpec` in muster's units.
 */
import { Checker, MISSING, utf8Length } from './check.js';
import {
  MAX_ARRAY_SIZE,
  MAX_COMMAND_ARGS,
  MAX_COMMAND_BYTES,
  MAX_DEPENDENCIES,
  MAX_ENV_KEY_LENGTH,
  MAX_ENV_VALUE_BYTES,
  MAX_ENV_VARS,
  MAX_GRACE_PERIOD_MS,
  MAX_IDEMPOTENCY_KEY_LENGTH,
  MAX_NAME_LENGTH,
  MAX_PATH_LENGTH,
  MAX_PRIORITY,
  MAX_RETRIES,
  MAX_SELECTORS,
  MAX_SITES_PER_JOB,
  MAX_TASK_GROUPS,
  MAX_TASKS_PER_JOB,
} from './limits.js';
import type { Mutable } from './mutable.js';
import type { Validated } from './problems.js';
import { fieldPath, indexPath, quote } from './problems.js';
import { parseDuration } from './quantity.js';
import { readQueueName } from './queue.js';
import { readResources } from './resource-spec.js';
import { NO_ENV } from './shared-request.js';
import type { Resources } from './resources.js';
import type { Selector } from './selector.js';
import { readSelector } from './selector.js';

export const STRATEGIES = ['binpack', 'spread'] as const;
export type Strategy = (typeof STRATEGIES)[number];

export const DEPENDENCY_TYPES = ['afterok', 'afterany', 'afternotok'] as const;
/** afterok: the job succeeded. afterany: it ended in any way. afternotok: it failed or was cancelled. */
export type DependencyType = (typeof DEPENDENCY_TYPES)[number];

export interface Dependency {
  readonly type: DependencyType;
  readonly job: string;
}

export interface TaskGroup {
  readonly name: string;
  readonly count: number;
  /** Per task. */
  readonly resources: Resources;
  /** The program (or, with `shell`, the script given to `/bin/sh -c`). */
  readonly command: string;
  readonly args: readonly string[];
  readonly shell: boolean;
  readonly env: Readonly<Record<string, string>>;
  readonly workingDir?: string;
  /** Wall-clock limit per task attempt, in ms. */
  readonly timeLimitMs?: number;
}

export interface Constraints {
  /** Sites the job may run in; empty means any. */
  readonly sites: readonly string[];
  readonly selectors: readonly Selector[];
}

export interface RetryPolicy {
  /** Retries after the first attempt (0: never retry). */
  readonly max: number;
  /** Delay before the first retry, in ms; it doubles with each further retry. */
  readonly backoffMs: number;
}

export interface JobSpec {
  readonly name?: string;
  readonly queue: string;
  readonly priority: number;
  readonly tasks: readonly TaskGroup[];
  readonly constraints: Constraints;
  readonly strategy: Strategy;
  /** No two tasks of the job on one node. */
  readonly distinctNodes: boolean;
  /** All tasks start together, in one site, or none does. */
  readonly gang: boolean;
  /** An array of this many indexed copies; absent for a plain job. */
  readonly array?: number;
  readonly dependencies: readonly Dependency[];
  readonly retries: RetryPolicy;
  readonly idempotencyKey?: string;
  /**
   * How long a preempted task has between SIGTERM and SIGKILL, in ms; absent: the agent's default grace.
   * Only preemption kills use it.
   */
  readonly gracePeriodMs?: number;
  /** `false`: no task of the job is ever preempted. Kept only when false (absent means true). */
  readonly preemptible?: boolean;
  /**
   * `true`: the job may preempt lower-priority jobs of its own queue. Kept only when true (absent means
   * false). The preemption policy reads it; the mechanism does not.
   */
  readonly mayPreempt?: boolean;
}

/** Whether tasks of the job may be preempted (`preemptible`, default true). */
export function isPreemptible(spec: JobSpec): boolean {
  return spec.preemptible !== false;
}

export const JOB_FIELDS = [
  'kind',
  'name',
  'queue',
  'priority',
  'tasks',
  'constraints',
  'strategy',
  'distinctNodes',
  'gang',
  'array',
  'dependencies',
  'retries',
  'idempotencyKey',
  'gracePeriod',
  'preemptible',
  'mayPreempt',
] as const;
export const TASK_FIELDS = ['name', 'count', 'resources', 'command', 'args', 'shell', 'env', 'workingDir', 'timeLimit'] as const;
export const CONSTRAINT_FIELDS = ['sites', 'selectors'] as const;
/** The object form of a dependency (`{ type, job }`); the string form is `type:job`. */
export const DEPENDENCY_FIELDS = ['type', 'job'] as const;
export const RETRY_FIELDS = ['max', 'backoff'] as const;

/** Default retry backoff: long enough that a crashing task does not spin, short enough to recover fast. */
export const DEFAULT_BACKOFF_MS = 10_000;

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Whether `key` may name an environment variable (the length is checked beside it). */
export function isEnvKey(key: string): boolean {
  return ENV_KEY.test(key);
}
const JOB_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/;

function readCommand(check: Checker, f: Readonly<Record<string, unknown>>, path: string): { command: string; args: string[] } | undefined {
  const raw = check.required(f, 'command', path);
  if (raw === MISSING) return undefined;
  const at = fieldPath(path, 'command');
  let command: string | undefined;
  let args: string[] = [];
  if (Array.isArray(raw)) {
    if (f['args'] !== undefined) return check.report(fieldPath(path, 'args'), 'MUSTER_ERR_INVALID_VALUE', 'give args inside command (an array) or beside it (a string), not both');
    const list = check.array(raw, at, MAX_COMMAND_ARGS + 1, 'words');
    if (!list) return undefined;
    if (list.length === 0) return check.report(at, 'MUSTER_ERR_REQUIRED', 'must name a program');
    const words = list.map((w, i) => check.string(w, indexPath(at, i), MAX_COMMAND_BYTES));
    if (words.some((w) => w === undefined)) return undefined;
    // Indexing and slice rather than destructuring with a rest element (the iterator protocol, per job).
    command = words[0] ?? '';
    args = (words as string[]).slice(1);
  } else {
    command = check.string(raw, at, MAX_COMMAND_BYTES);
    if (f['args'] !== undefined) {
      const list = check.array(f['args'], fieldPath(path, 'args'), MAX_COMMAND_ARGS, 'arguments');
      const words = list?.map((w, i) => check.string(w, indexPath(fieldPath(path, 'args'), i), MAX_COMMAND_BYTES));
      if (!words || words.some((w) => w === undefined)) return undefined;
      args = words as string[];
    }
  }
  if (command === undefined) return undefined;
  if (command.trim() === '') return check.report(at, 'MUSTER_ERR_REQUIRED', 'must name a program');
  let bytes = utf8Length(command);
  for (const arg of args) bytes += utf8Length(arg);
  if (bytes > MAX_COMMAND_BYTES) return check.report(at, 'MUSTER_ERR_LIMIT_EXCEEDED', `command and arguments are ${bytes} bytes; the most is ${MAX_COMMAND_BYTES}`);
  return { command, args };
}

function readEnv(check: Checker, value: unknown, path: string): Record<string, string> {
  const env: Record<string, string> = {};
  const map = check.map(value, path, MAX_ENV_VARS, 'variables');
  for (const [key, raw] of Object.entries(map ?? {})) {
    const at = fieldPath(path, key);
    if (key.length > MAX_ENV_KEY_LENGTH) {
      check.report(at, 'MUSTER_ERR_LIMIT_EXCEEDED', `variable name is ${key.length} characters long; the most is ${MAX_ENV_KEY_LENGTH}`);
    } else if (!isEnvKey(key)) {
      check.report(at, 'MUSTER_ERR_INVALID_NAME', `${quote(key)} is not an environment variable name`);
    } else if (typeof raw !== 'string') {
      check.report(at, 'MUSTER_ERR_INVALID_TYPE', 'expected a string (quote numbers in YAML)');
    } else if (utf8Length(raw) > MAX_ENV_VALUE_BYTES) {
      check.report(at, 'MUSTER_ERR_LIMIT_EXCEEDED', `value is ${utf8Length(raw)} bytes; the most is ${MAX_ENV_VALUE_BYTES}`);
    } else {
      env[key] = raw;
    }
  }
  return env;
}

function readTaskGroup(check: Checker, input: unknown, path: string, index: number): TaskGroup | undefined {
  const f = check.object(input, path, TASK_FIELDS);
  if (!f) return undefined;
  const at = (key: string): string => fieldPath(path, key);
  const name = f['name'] === undefined ? (index === 0 ? 'main' : `group-${index}`) : check.name(f['name'], at('name'), MAX_NAME_LENGTH);
  const count = f['count'] === undefined ? 1 : check.integer(f['count'], at('count'), 1, MAX_TASKS_PER_JOB);
  const resources = readResources(check, check.required(f, 'resources', path), at('resources'), 'up');
  const cmd = readCommand(check, f, path);
  const shell = f['shell'] === undefined ? false : check.boolean(f['shell'], at('shell'));
  const env = f['env'] === undefined ? NO_ENV : readEnv(check, f['env'], at('env'));
  const workingDir = f['workingDir'] === undefined ? undefined : check.string(f['workingDir'], at('workingDir'), MAX_PATH_LENGTH);
  const timeLimitMs = f['timeLimit'] === undefined ? undefined : check.parsed(parseDuration(f['timeLimit']), at('timeLimit'), 'MUSTER_ERR_INVALID_DURATION');
  if (timeLimitMs === 0) check.report(at('timeLimit'), 'MUSTER_ERR_INVALID_DURATION', 'a time limit must be longer than 0');
  if (name === undefined || count === undefined || resources === undefined || cmd === undefined || shell === undefined) return undefined;
  if ((f['workingDir'] !== undefined && workingDir === undefined) || (f['timeLimit'] !== undefined && !timeLimitMs)) return undefined;
  // Optional fields are assigned, not spread in: spreading gives every object its own hidden class.
  const group: Mutable<TaskGroup> = { name, count, resources, command: cmd.command, args: cmd.args, shell, env };
  if (workingDir !== undefined) group.workingDir = workingDir;
  if (timeLimitMs !== undefined) group.timeLimitMs = timeLimitMs;
  return group;
}

function readConstraints(check: Checker, value: unknown, path: string): Constraints | undefined {
  const f = check.object(value, path, CONSTRAINT_FIELDS);
  if (!f) return undefined;
  const sites: string[] = [];
  const selectors: Selector[] = [];
  const before = check.problems.length;
  if (f['sites'] !== undefined) {
    const at = fieldPath(path, 'sites');
    check.array(f['sites'], at, MAX_SITES_PER_JOB, 'sites')?.forEach((s, i) => {
      const site = check.name(s, indexPath(at, i), MAX_NAME_LENGTH);
      if (site !== undefined) sites.push(site);
    });
  }
  if (f['selectors'] !== undefined) {
    const at = fieldPath(path, 'selectors');
    check.array(f['selectors'], at, MAX_SELECTORS, 'selectors')?.forEach((s, i) => {
      const selector = readSelector(check, s, indexPath(at, i));
      if (selector) selectors.push(selector);
    });
  }
  return check.problems.length === before ? { sites, selectors } : undefined;
}

function readDependency(check: Checker, value: unknown, path: string): Dependency | undefined {
  let type: unknown;
  let job: unknown;
  if (typeof value === 'string') {
    const colon = value.indexOf(':');
    if (colon < 0) return check.report(path, 'MUSTER_ERR_INVALID_VALUE', `${quote(value)} is not a dependency (write afterok:JOB)`);
    type = value.slice(0, colon);
    job = value.slice(colon + 1);
  } else {
    const f = check.object(value, path, DEPENDENCY_FIELDS);
    if (!f) return undefined;
    type = check.required(f, 'type', path);
    job = check.required(f, 'job', path);
    if (type === MISSING || job === MISSING) return undefined;
  }
  const t = check.oneOf(type, path, DEPENDENCY_TYPES);
  const id = check.string(job, path, MAX_IDEMPOTENCY_KEY_LENGTH);
  if (id !== undefined && !JOB_ID.test(id)) return check.report(path, 'MUSTER_ERR_INVALID_NAME', `${quote(id)} is not a job id`);
  return t === undefined || id === undefined ? undefined : { type: t, job: id };
}

function readRetries(check: Checker, value: unknown, path: string): RetryPolicy | undefined {
  const f = check.object(value, path, RETRY_FIELDS);
  if (!f) return undefined;
  const max = f['max'] === undefined ? 0 : check.integer(f['max'], fieldPath(path, 'max'), 0, MAX_RETRIES);
  const backoffMs = f['backoff'] === undefined ? DEFAULT_BACKOFF_MS : check.parsed(parseDuration(f['backoff']), fieldPath(path, 'backoff'), 'MUSTER_ERR_INVALID_DURATION');
  return max === undefined || backoffMs === undefined ? undefined : { max, backoffMs };
}

export function readJob(check: Checker, input: unknown, path = ''): JobSpec | undefined {
  const f = check.object(input, path, JOB_FIELDS);
  if (!f) return undefined;
  const before = check.problems.length;
  const at = (key: string): string => fieldPath(path, key);
  const name = f['name'] === undefined ? undefined : check.name(f['name'], at('name'), MAX_NAME_LENGTH);
  const queue = readQueueName(check, check.required(f, 'queue', path), at('queue'));
  const priority = f['priority'] === undefined ? 0 : check.integer(f['priority'], at('priority'), -MAX_PRIORITY, MAX_PRIORITY);

  const tasks: TaskGroup[] = [];
  const rawTasks = check.required(f, 'tasks', path);
  const list = check.array(rawTasks, at('tasks'), MAX_TASK_GROUPS, 'task groups');
  if (list && list.length === 0) check.report(at('tasks'), 'MUSTER_ERR_REQUIRED', 'needs at least one task group');
  list?.forEach((t, i) => {
    const group = readTaskGroup(check, t, indexPath(at('tasks'), i), i);
    if (group) tasks.push(group);
  });
  const total = tasks.reduce((sum, t) => sum + t.count, 0);
  if (total > MAX_TASKS_PER_JOB) check.report(at('tasks'), 'MUSTER_ERR_LIMIT_EXCEEDED', `has ${total} tasks in all; the most is ${MAX_TASKS_PER_JOB}`);
  if (tasks.length > 1) {
    const names = new Set<string>();
    tasks.forEach((t, i) => {
      if (names.has(t.name)) check.report(fieldPath(indexPath(at('tasks'), i), 'name'), 'MUSTER_ERR_INVALID_VALUE', `${quote(t.name)} names two task groups`);
      names.add(t.name);
    });
  }

  const constraints = f['constraints'] === undefined ? { sites: [], selectors: [] } : readConstraints(check, f['constraints'], at('constraints'));
  const strategy = f['strategy'] === undefined ? 'binpack' : check.oneOf(f['strategy'], at('strategy'), STRATEGIES);
  const distinctNodes = f['distinctNodes'] === undefined ? false : check.boolean(f['distinctNodes'], at('distinctNodes'));
  const gang = f['gang'] === undefined ? false : check.boolean(f['gang'], at('gang'));
  const array = f['array'] === undefined ? undefined : check.integer(f['array'], at('array'), 1, MAX_ARRAY_SIZE);

  const dependencies: Dependency[] = [];
  if (f['dependencies'] !== undefined) {
    check.array(f['dependencies'], at('dependencies'), MAX_DEPENDENCIES, 'dependencies')?.forEach((d, i) => {
      const dep = readDependency(check, d, indexPath(at('dependencies'), i));
      if (dep) dependencies.push(dep);
    });
  }
  const retries = f['retries'] === undefined ? { max: 0, backoffMs: DEFAULT_BACKOFF_MS } : readRetries(check, f['retries'], at('retries'));
  let idempotencyKey: string | undefined;
  if (f['idempotencyKey'] !== undefined) {
    idempotencyKey = check.string(f['idempotencyKey'], at('idempotencyKey'), MAX_IDEMPOTENCY_KEY_LENGTH);
    if (idempotencyKey === '') idempotencyKey = check.report(at('idempotencyKey'), 'MUSTER_ERR_INVALID_VALUE', 'must not be empty');
  }

  const preemption = readPreemption(check, f, at);

  if (check.problems.length !== before) return undefined;
  if (queue === undefined || priority === undefined || !constraints || !strategy || distinctNodes === undefined || gang === undefined || !retries) {
    return undefined;
  }
  // The same field order as `internJob` (intern.ts), so validated and interned specs share hidden classes.
  const spec: Mutable<JobSpec> = { queue, priority, tasks, constraints, strategy, distinctNodes, gang, dependencies, retries };
  if (name !== undefined) spec.name = name;
  if (array !== undefined) spec.array = array;
  if (idempotencyKey !== undefined) spec.idempotencyKey = idempotencyKey;
  if (preemption.gracePeriodMs !== undefined) spec.gracePeriodMs = preemption.gracePeriodMs;
  if (preemption.preemptible === false) spec.preemptible = false;
  if (preemption.mayPreempt === true) spec.mayPreempt = true;
  return spec;
}

/** `gracePeriod`, `preemptible` and `mayPreempt`: normalized to what differs from the defaults. */
function readPreemption(check: Checker, f: Readonly<Record<string, unknown>>, at: (key: string) => string): Pick<JobSpec, 'gracePeriodMs' | 'preemptible' | 'mayPreempt'> {
  const out: Mutable<Pick<JobSpec, 'gracePeriodMs' | 'preemptible' | 'mayPreempt'>> = {};
  if (f['gracePeriod'] !== undefined) {
    const ms = check.parsed(parseDuration(f['gracePeriod']), at('gracePeriod'), 'MUSTER_ERR_INVALID_DURATION');
    if (ms !== undefined && ms > MAX_GRACE_PERIOD_MS) check.report(at('gracePeriod'), 'MUSTER_ERR_LIMIT_EXCEEDED', `a grace period is at most ${MAX_GRACE_PERIOD_MS / 60_000}m`);
    else if (ms !== undefined) out.gracePeriodMs = ms;
  }
  const preemptible = f['preemptible'] === undefined ? undefined : check.boolean(f['preemptible'], at('preemptible'));
  const mayPreempt = f['mayPreempt'] === undefined ? undefined : check.boolean(f['mayPreempt'], at('mayPreempt'));
  if (preemptible !== undefined) out.preemptible = preemptible;
  if (mayPreempt !== undefined) out.mayPreempt = mayPreempt;
  return out;
}

export function validateJob(input: unknown): Validated<JobSpec> {
  const check = new Checker();
  const value = readJob(check, input);
  return value && check.ok ? { ok: true, value } : { ok: false, problems: check.problems };
}

/** Every task of the job (one array element), summed. */
export function jobTaskCount(job: JobSpec): number {
  return job.tasks.reduce((sum, t) => sum + t.count, 0);
}
