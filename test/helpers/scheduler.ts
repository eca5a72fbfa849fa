/**
 * Fixtures for scheduler tests: validated specs from their written form, and a simulation runner that
 * shares one actor system (one worker host) across the runs of a test file.
 */
import type { ActorSystem } from '../../src/actors/index.js';
import { createActorSystem } from '../../src/actors/index.js';
import { createLogger } from '../../src/log/index.js';
import type { JobSpec, NodeSpec, QueueSpec } from '../../src/model/index.js';
import { formatProblem, validateJob, validateNode, validateQueue } from '../../src/model/index.js';
import type { AgentPort, SchedulerEvent, SchedulerState, SimScript, SimulationOptions, TaskLaunch } from '../../src/scheduler/index.js';
import { applyEvent, createState, Simulation } from '../../src/scheduler/index.js';
import { jobSpec, nodeSpec, queueSpec, taskSpec } from './specs.js';
import type { Raw } from './specs.js';

function valid<T>(result: { ok: true; value: T } | { ok: false; problems: readonly { path: string; code: string; message: string }[] }): T {
  if (!result.ok) throw new Error(`invalid fixture: ${result.problems.map((p) => formatProblem(p as never)).join('; ')}`);
  return result.value;
}

/** A job of `count` tasks of `cpu` cores and `memory`, plus any other fields. */
export function job(fields: Raw = {}, task: Raw = {}): JobSpec {
  return valid(validateJob(jobSpec({ tasks: [taskSpec({ resources: { cpu: '1', memory: '1Gi' }, command: 'true', ...task })], ...fields })));
}

export function node(name: string, site = 'a', capacity: Raw = { cpu: '4', memory: '16Gi' }, labels: Record<string, string> = {}): NodeSpec {
  return valid(validateNode(nodeSpec({ name, site, capacity, labels })));
}

export function queue(fields: Raw): QueueSpec {
  return valid(validateQueue(queueSpec(fields)));
}

let shared: Promise<ActorSystem> | undefined;

/** One actor system for a whole test file (starting a worker per run would dominate the test's time). */
export function sharedSystem(): Promise<ActorSystem> {
  shared ??= createActorSystem({ workers: 1, log: createLogger({ name: 'test', level: 'warn' }) });
  return shared;
}

export async function closeSharedSystem(): Promise<void> {
  if (shared) await (await shared).shutdown();
  shared = undefined;
}

export async function simulate(script: SimScript, until = Infinity, core?: SimulationOptions['core']): Promise<Simulation> {
  const sim = await Simulation.create({ script, system: await sharedSystem(), keepEvents: true, ...(core ? { core } : {}) });
  await sim.run(until);
  return sim;
}

/** The job records of the live queue actors, merged, for comparison with a rebuild from events. */
export async function liveJobs(sim: Simulation): Promise<Map<string, unknown>> {
  const slices: SchedulerState[] = await sim.core.queueSlices();
  const jobs = new Map<string, unknown>();
  for (const slice of slices) for (const [id, j] of slice.jobs) jobs.set(id, comparable(j));
  return jobs;
}

/** A whole state rebuilt from events by the reducer alone (what recovery and replay do). */
export function rebuild(events: readonly SchedulerEvent[]): SchedulerState {
  const state = createState(false);
  for (const e of events) applyEvent(state, e);
  return state;
}

export function rebuiltJobs(state: SchedulerState): Map<string, unknown> {
  return new Map([...state.jobs].map(([id, j]) => [id, comparable(j)]));
}

function comparable(j: SchedulerState['jobs'] extends Map<string, infer J> ? J : never): unknown {
  return { status: j.status, reason: j.reason, cancel: j.cancelRequested, tasks: j.tasks.map((t) => ({ ...t })) };
}

/** An agent port that records what it is told to start (and ignores kills). */
export class RecordingAgents implements AgentPort {
  readonly started: TaskLaunch[] = [];
  start(_node: string, launch: TaskLaunch): void {
    this.started.push(launch);
  }
  kill(): void {}
  acknowledge(): void {}
  refuse(): void {}
}
