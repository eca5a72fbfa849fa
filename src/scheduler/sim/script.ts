/** What a simulation runs: sites, queues, nodes joining and changing state, jobs arriving, cancellations. */
import type { JobSpec, NodeSpec, NodeState, QueueSpec } from '../../model/index.js';

/** How one task attempt behaves once started: it ends after `durationMs` with `outcome`, or never ends. */
export type AttemptBehaviour = { readonly durationMs: number; readonly outcome: 'succeeded' | 'failed'; readonly exitCode?: number } | 'hang';

export interface SimJob {
  /** Arrival time (ms of simulated time). */
  readonly at: number;
  readonly tenant?: string;
  readonly spec: JobSpec;
  /** Every attempt of every task runs this long and succeeds, unless `behaviour` says otherwise. */
  readonly durationMs?: number;
  readonly behaviour?: (task: number, attempt: number) => AttemptBehaviour;
}

export interface SimScript {
  readonly sites: readonly string[];
  readonly queues?: readonly QueueSpec[];
  readonly nodes: readonly { readonly at?: number; readonly spec: NodeSpec }[];
  readonly nodeStates?: readonly { readonly at: number; readonly node: string; readonly state: NodeState }[];
  readonly jobs: readonly SimJob[];
  /** Cancel the `job`-th job of `jobs` (by index) at a time. */
  readonly cancels?: readonly { readonly at: number; readonly job: number }[];
  /**
   * More jobs, made as the run goes (a soak of millions would not fit in `jobs`): each call gives the next
   * arrival, in time order, or undefined when there are no more. The harness keeps nothing of them once
   * they have ended.
   */
  readonly feed?: () => SimJob | undefined;
}
