/**
 * Starts the scheduler's actors from a recovered whole state (snapshot + log): the job directory, a queue
 * actor per queue with its slice, the live attempts, a node actor per node with the attempts it runs, and
 * the site registry (each site's table is then built from it: site-tables.ts). Nothing is emitted and
 * nothing is dispatched again: the agents reconcile when they register.
 */
import type { Logger } from '../log/index.js';
import type { EventRouter } from './event-router.js';
import { launchFor } from './launch.js';
import type { RecoveredAttempt } from './node-actor.js';
import { liveAttempts, sliceFor } from './recovery.js';
import type { SchedulerState } from './state.js';
import { isTerminal } from './state.js';

export function restoreActors(router: EventRouter, whole: SchedulerState, log: Logger): void {
  const jobs = [...whole.jobs.values()].sort((a, b) => a.order - b.order);
  for (const job of jobs) {
    router.directory.add(job.id, job.tenant, job.spec);
    if (isTerminal(job.status)) router.directory.ended(job.id, job.status);
  }
  router.directory.restored(whole.submitted, whole.keys.copy());
  // Ended jobs wait for retirement again, oldest-ended first.
  router.retirement?.restore(
    jobs
      .filter((job) => isTerminal(job.status))
      .sort((a, b) => (a.endedAt ?? 0) - (b.endedAt ?? 0) || a.order - b.order)
      .map((job) => ({ id: job.id, tenant: job.tenant, endedAt: job.endedAt ?? whole.now, live: job.tasks.filter((t) => t.state === 'placed' || t.state === 'running').length })),
  );
  for (const [name, queue] of whole.queues) {
    router.queueRef(name, queue.spec.tenant, sliceFor(whole, name));
    router.queues.get(name)!.spec = queue.spec;
  }
  const running = new Map<string, RecoveredAttempt[]>();
  for (const { job, task, record } of liveAttempts(whole)) {
    const entry = router.directory.get(job)!;
    const launch = launchFor(entry.spec, entry.perElement, job, task, record.attempt, record.node!, whole.epoch);
    router.live.placed(job, task, record.attempt, record.node!, launch.resources, record.startedAt ?? whole.now, launch.timeLimitMs, record.state === 'running');
    // Preempted before the restart: killed again when its agent registers (node-actor.ts).
    const preempted = record.attempts?.[record.attempts.length - 1]?.preemptedAt !== undefined;
    const recovered: RecoveredAttempt = preempted ? { launch, startedAt: record.startedAt, preempted: { graceMs: entry.spec.gracePeriodMs } } : { launch, startedAt: record.startedAt };
    const list = running.get(record.node!);
    if (list) list.push(recovered);
    else running.set(record.node!, [recovered]);
  }
  for (const [name, node] of whole.nodes) {
    const site = router.registry.site(node.spec.site);
    if (!site) {
      log.error({ node: name, site: node.spec.site }, 'recovered node belongs to a site that is not configured');
      continue;
    }
    // The registry holds the node as it stands now; its site's table is built from it and the live
    // attempts when the dispatcher starts (site-tables.ts).
    router.registry.addNode(site, { ...node.spec, state: node.state });
    // A drain whose deadline passed while the server was down ends what still runs there at once.
    if (node.drain) router.drains.set(name, node.drain.deadline);
    router.spawnNode(name, node.state, running.get(name));
  }
}
