/**
 * Planning one round of a dispatch cycle: which candidates go to which site, in fair-share order.
 *
 * Pipeline, in run order:
 *   1. service order   — the queue furthest below its weighted fair share (DRF) gives its next candidate;
 *   2. limit check     — a candidate that would take its queue past its limit is held back ("queue at its limit");
 *   3. site choice     — the summaries rule sites out; binpack picks the fullest remaining site, spread the emptiest;
 *   4. charge          — the candidate's demand is charged to its queue and taken off the site's view at once,
 *                        so the next pick sees it (refunded later if the site cannot place it).
 */
import type { Resources } from '../model/index.js';
import type { Candidate } from './candidates.js';
import type { ShareAccount } from './fair-share.js';
import { charge, fitsLimit, ServiceOrder } from './fair-share.js';
import type { SiteView } from './site-choice.js';
import { chooseSite } from './site-choice.js';

export interface QueueOffer {
  readonly account: ShareAccount;
  readonly candidates: readonly Candidate[];
}

export interface RoundPlan {
  /** Site → candidates, in the order they were picked. */
  readonly batches: Map<string, Candidate[]>;
  /** Candidates held back by their queue's limit. */
  readonly limited: Candidate[];
  /** Candidates no site can take, with each site's reason. */
  readonly excluded: { readonly candidate: Candidate; readonly reasons: ReadonlyMap<string, string> }[];
}

export function planRound(offers: readonly QueueOffer[], views: readonly SiteView[], total: Resources, tried: ReadonlyMap<Candidate, ReadonlySet<string>>): RoundPlan {
  const plan: RoundPlan = { batches: new Map(), limited: [], excluded: [] };
  const order = new ServiceOrder(total);
  const next = new Map<ShareAccount, { readonly list: readonly Candidate[]; at: number }>();
  for (const offer of offers) {
    if (offer.candidates.length === 0) continue;
    next.set(offer.account, { list: offer.candidates, at: 0 });
    order.push(offer.account);
  }
  for (let account = order.pop(); account; account = order.pop()) {
    const cursor = next.get(account)!;
    const candidate = cursor.list[cursor.at++]!;
    if (!fitsLimit(account, candidate.demand)) {
      plan.limited.push(candidate);
    } else {
      const choice = chooseSite(candidate, views, tried.get(candidate));
      if ('site' in choice) {
        const site = choice.site.summary.site;
        const batch = plan.batches.get(site);
        if (batch) batch.push(candidate);
        else plan.batches.set(site, [candidate]);
        choice.site.take(candidate.demand);
        charge(account, candidate.demand, 1);
      } else {
        plan.excluded.push({ candidate, reasons: choice.excluded });
      }
    }
    if (cursor.at < cursor.list.length) order.push(account);
  }
  return plan;
}
