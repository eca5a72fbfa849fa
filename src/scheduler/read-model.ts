/**
 * The dispatcher's queries: answered at once from the job directory, the site registry and the actors'
 * refs, never after durability (they write nothing), and still answered after the store failed. Each copies
 * only its answer; the records themselves stay with the actors that own them (views.ts builds those).
 */
import type { ActorRef } from '../actors/index.js';
import type { EventRouter } from './event-router.js';
import type { NodeState } from '../model/index.js';
import { neverRuns } from './feasibility.js';
import type { CoreCommand, NodeListing } from './messages.js';

export const QUERY_KINDS = ['locate', 'inspectNodes', 'inspectQueues', 'owners', 'listQueues', 'listNodes'] as const;
export type Query = Extract<CoreCommand, { kind: (typeof QUERY_KINDS)[number] }>;

export function isQuery(msg: { readonly kind: string }): msg is Query {
  return (QUERY_KINDS as readonly string[]).includes(msg.kind);
}

export function answerQuery(router: EventRouter, msg: Query, tell: <T>(to: ActorRef<T>, message: T) => void): void {
  const { directory, registry, queues, nodes } = router;
  switch (msg.kind) {
    case 'locate': {
      const entry = directory.get(msg.job);
      const live = entry !== undefined && entry.outcome === undefined;
      const never = live ? router.feasibility.neverRuns(entry.spec) : [];
      // Could run, but not on the nodes ready now: name the others (draining, lost, ...). Only for why-pending.
      let onlyUnready: { name: string; state: NodeState }[] = [];
      if (live && msg.explain === true && never.length === 0 && registry.size > 0) {
        const nodes = registry.nodeSpecs();
        const ready = nodes.filter((n) => n.state === 'ready');
        if (ready.length === 0 || neverRuns(entry.spec, ready).length > 0) onlyUnready = nodes.filter((n) => n.state !== 'ready').map((n) => ({ name: n.name, state: n.state }));
      }
      tell(msg.replyTo, {
        queue: entry ? queues.get(entry.queue)?.ref : undefined,
        outcome: entry?.outcome,
        tenant: entry?.tenant,
        sites: [...registry.sites()].map((s) => s.summary),
        never,
        nodes: registry.size,
        onlyUnready,
      });
      return;
    }
    case 'inspectNodes':
      return tell(msg.replyTo, [...nodes.values()]);
    case 'inspectQueues':
      return tell(msg.replyTo, [...queues.values()].map((q) => q.ref));
    case 'owners':
      return tell(
        msg.replyTo,
        msg.jobs.map((id) => {
          const entry = directory.get(id);
          return entry && { tenant: entry.tenant, queue: entry.queue, outcome: entry.outcome };
        }),
      );
    case 'listQueues':
      return tell(msg.replyTo, [...queues.values()].map((q) => ({ spec: q.spec, ref: q.ref })));
    case 'listNodes': {
      const listing: NodeListing[] = [];
      for (const name of msg.names ?? [...nodes.keys()]) {
        const ref = nodes.get(name);
        const entry = registry.node(name);
        if (ref && entry) listing.push(router.drains.has(name) ? { spec: entry.spec, ref, drain: { deadline: router.drains.deadline(name) } } : { spec: entry.spec, ref });
      }
      return tell(msg.replyTo, listing);
    }
  }
}
