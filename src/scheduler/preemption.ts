/**
 * The preemption mechanism's choice of attempts: of those a policy asks to preempt, the ones that may be.
 * Who to preempt is the policy's business; this only checks and completes its answer against the
 * dispatcher's truth (the live attempts and the job directory).
 *
 *   asked ──▶ live here (this attempt, this node)? ──▶ job not ended, `preemptible`? ──▶ gang: its whole
 *             element's live attempts                                                     (one restart)
 *
 * An attempt that is not live (ended, replaced, another attempt, another node) is left out, as an agent's
 * late report would be: the policy decided on a view that has moved on.
 */
import { isPreemptible } from '../model/index.js';
import type { EventRouter } from './event-router.js';
import type { Placement } from './events.js';
import { elementOf } from './tasks.js';

/** The attempts to preempt for `asked`, each once, in the order asked (a gang's members after the first asked). */
export function attemptsToPreempt(router: EventRouter, asked: readonly Placement[]): Placement[] {
  const chosen = new Map<string, Placement>();
  for (const a of asked) {
    const live = router.live.get(a.job, a.task);
    const entry = router.directory.get(a.job);
    if (!live || live.attempt !== a.attempt || live.node !== a.node || !entry || entry.outcome !== undefined || !isPreemptible(entry.spec)) continue;
    // A gang element runs whole or not at all: preempting one member preempts the element.
    const first = entry.spec.gang ? elementOf(entry.perElement, a.task) * entry.perElement : a.task;
    const last = entry.spec.gang ? first + entry.perElement : a.task + 1;
    for (let t = first; t < last; t++) {
      const member = router.live.get(a.job, t);
      if (member && !chosen.has(`${a.job}#${t}`)) chosen.set(`${a.job}#${t}`, { job: a.job, task: t, attempt: member.attempt, node: member.node });
    }
  }
  return [...chosen.values()];
}
