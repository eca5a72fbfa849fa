/** A site: a failure domain (datacenter or zone) that owns nodes; the unit of sharding. */
import { Checker } from './check.js';
import type { Labels } from './labels.js';
import { readLabels } from './labels.js';
import { MAX_NAME_LENGTH } from './limits.js';
import type { Validated } from './problems.js';
import { fieldPath } from './problems.js';

export interface SiteSpec {
  readonly name: string;
  readonly labels: Labels;
}

export const SITE_FIELDS = ['kind', 'name', 'labels'] as const;

export function readSite(check: Checker, input: unknown, path = ''): SiteSpec | undefined {
  const f = check.object(input, path, SITE_FIELDS);
  if (!f) return undefined;
  const name = check.name(check.required(f, 'name', path), fieldPath(path, 'name'), MAX_NAME_LENGTH);
  const labels = f['labels'] === undefined ? {} : readLabels(check, f['labels'], fieldPath(path, 'labels'));
  return name === undefined ? undefined : { name, labels };
}

export function validateSite(input: unknown): Validated<SiteSpec> {
  const check = new Checker();
  const value = readSite(check, input);
  return value && check.ok ? { ok: true, value } : { ok: false, problems: check.problems };
}
