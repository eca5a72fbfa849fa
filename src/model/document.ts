/**
 * A spec document as people write it in a file: `kind: Job | Queue | Node | Site` (Job when absent) and
 * the fields of that kind. `muster validate` and, later, `muster apply` read documents.
 */
import { Checker } from './check.js';
import type { JobSpec } from './job.js';
import { readJob } from './job.js';
import type { NodeSpec } from './node.js';
import { readNode } from './node.js';
import type { Validated } from './problems.js';
import type { QueueSpec } from './queue.js';
import { readQueue } from './queue.js';
import type { SiteSpec } from './site.js';
import { readSite } from './site.js';

export const DOCUMENT_KINDS = ['Job', 'Queue', 'Node', 'Site'] as const;
export type DocumentKind = (typeof DOCUMENT_KINDS)[number];

export type SpecDocument =
  | { readonly kind: 'Job'; readonly spec: JobSpec }
  | { readonly kind: 'Queue'; readonly spec: QueueSpec }
  | { readonly kind: 'Node'; readonly spec: NodeSpec }
  | { readonly kind: 'Site'; readonly spec: SiteSpec };

function readDocument(check: Checker, input: unknown): SpecDocument | undefined {
  const kind = (input as { kind?: unknown } | null)?.kind ?? 'Job';
  switch (check.oneOf(kind, 'kind', DOCUMENT_KINDS)) {
    case 'Job': {
      const spec = readJob(check, input);
      return spec && { kind: 'Job', spec };
    }
    case 'Queue': {
      const spec = readQueue(check, input);
      return spec && { kind: 'Queue', spec };
    }
    case 'Node': {
      const spec = readNode(check, input);
      return spec && { kind: 'Node', spec };
    }
    case 'Site': {
      const spec = readSite(check, input);
      return spec && { kind: 'Site', spec };
    }
    case undefined:
      return undefined;
  }
}

export function validateDocument(input: unknown): Validated<SpecDocument> {
  const check = new Checker();
  const value = readDocument(check, input);
  return value && check.ok ? { ok: true, value } : { ok: false, problems: check.problems };
}
