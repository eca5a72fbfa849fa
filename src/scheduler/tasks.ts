/**
 * Task layout of a job. A job is `array` elements (1 when not an array) of `perElement` tasks each; the
 * task groups fill an element in order. Task `t` is task `t % perElement` of element `t / perElement`.
 * An element is the unit of a gang (placed all or nothing) and of failure (a task that fails for good ends
 * its element); elements of an array are independent.
 */
import type { JobSpec, Resources, TaskGroup } from '../model/index.js';
import { jobTaskCount } from '../model/index.js';

export function tasksPerElement(spec: JobSpec): number {
  return jobTaskCount(spec);
}

export function elementCount(spec: JobSpec): number {
  return spec.array ?? 1;
}

export function elementOf(perElement: number, task: number): number {
  return Math.floor(task / perElement);
}

/** The task group of task `t`. */
export function groupOf(spec: JobSpec, perElement: number, task: number): TaskGroup {
  let k = task % perElement;
  for (const group of spec.tasks) {
    if (k < group.count) return group;
    k -= group.count;
  }
  throw new RangeError(`task ${task} is past the job's ${perElement} tasks per element`);
}

export function taskResources(spec: JobSpec, perElement: number, task: number): Resources {
  return groupOf(spec, perElement, task).resources;
}

/** Retry backoff before attempt `failures + 1`: the base doubled per earlier failure, capped at one day. */
export function backoffMs(base: number, failures: number): number {
  return Math.min(base * 2 ** Math.max(0, failures - 1), MAX_BACKOFF_MS);
}

/** Longest wait between retries: past a day, a retry policy is better expressed as a new submission. */
export const MAX_BACKOFF_MS = 24 * 3600 * 1000;
