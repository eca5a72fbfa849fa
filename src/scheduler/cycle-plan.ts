/**
 * Planning one round of a dispatch cycle: which candidates go to which site, in fair-share order.
 *
 * Pipeline, in run order:
 *   1. service order   — top-down through the queue tree (fair-share.ts): guarantees first, then weighted
 *                        dominant-resource fairness, at every level; the queue reached gives its next candidate;
 *   2. cap check       — a candidate that would take its queue or an ancestor past its limit or its borrowing
 *                        limit is held back, with the reason (queue-tree.ts `capBlocking`);
 *   3. site choice     — the summaries rule sites out; binpack picks the fullest remaining site, spread the emptiest;
 *   4. charge          — the candidate's demand is charged to its queue and ancestors and taken off the site's view at once,
 *                        so the next pick sees it (refunded later if the site cannot place it).
 */
import type { Resources } from '../model/index.js';
import type { Candidate } from './candidates.js';
import { ServiceOrder } from './fair-share.js';
import type { QueueAccount } from './queue-tree.js';
import { capBlocking, chargePath } from './queue-tree.js';
import type { SiteView } from './site-choice.js';
import { chooseSite } from './site-choice.js';

export interface QueueOffer {
  /** The account the queue's own candidates are charged to (queue-tree.ts `leaf`). */
  readonly account: QueueAccount;
  readonly candidates: readonly Candidate[];
}

export interface RoundPlan {
  /** Site → candidates, in the order they were picked. */
  readonly batches: Map<string, Candidate[]>;
  /** Candidates held back by a cap of their queue or an ancestor, with the reason. */
  readonly limited: { readonly candidate: Candidate; readonly why: string }[];
  /** Candidates no site can take, with each site's reason. */
  readonly excluded: { readonly candidate: Candidate; readonly reasons: ReadonlyMap<string, string> }[];
}

export function planRound(offers: readonly QueueOffer[], views: readonly SiteView[], total: Resources, tried: ReadonlyMap<Candidate, ReadonlySet<string>>): RoundPlan {
  const plan: RoundPlan = { batches: new Map(), limited: [], excluded: [] };
  const order = new ServiceOrder(total);
  const next = new Map<QueueAccount, { readonly list: readonly Candidate[]; at: number }>();
  for (const offer of offers) {
    if (offer.candidates.length === 0) continue;
    next.set(offer.account, { list: offer.candidates, at: 0 });
    order.add(offer.account, offer.candidates.length);
  }
  for (let account = order.pop(); account; account = order.pop()) {
    const cursor = next.get(account)!;
    const candidate = cursor.list[cursor.at++]!;
    const capped = capBlocking(account, candidate.demand);
    if (capped !== undefined) {
      plan.limited.push({ candidate, why: capped });
    } else {
      const choice = chooseSite(candidate, views, tried.get(candidate));
      if ('site' in choice) {
        const site = choice.site.summary.site;
        const batch = plan.batches.get(site);
        if (batch) batch.push(candidate);
        else plan.batches.set(site, [candidate]);
        choice.site.take(candidate.demand);
        chargePath(account, candidate.demand, 1);
      } else {
        plan.excluded.push({ candidate, reasons: choice.excluded });
      }
    }
  }
  return plan;
}
