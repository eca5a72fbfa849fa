/**
 * Labels: `key=value` pairs on nodes and sites, matched by job selectors. Keys are `name` or `prefix/name`
 * (prefix a DNS subdomain); names and values use letters, digits, `-`, `_`, `.`, starting and ending with a
 * letter or digit; values may be empty. These are Kubernetes' rules, so labels carry over unchanged.
 */
import type { Checker } from './check.js';
import { fieldPath, quote } from './problems.js';
import { MAX_LABEL_KEY_LENGTH, MAX_LABEL_VALUE_LENGTH, MAX_LABELS, MAX_NAME_LENGTH } from './limits.js';

export type Labels = Readonly<Record<string, string>>;

const LABEL_NAME = /^[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/;

/** Why `key` is not a label key, or undefined when it is one. */
export function labelKeyProblem(key: string): string | undefined {
  if (key.length > MAX_LABEL_KEY_LENGTH) return `label key is ${key.length} characters long; the most is ${MAX_LABEL_KEY_LENGTH}`;
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && !DNS_SUBDOMAIN.test(prefix)) return `${quote(key)} has a prefix that is not a DNS subdomain`;
  if (name.length > MAX_NAME_LENGTH) return `${quote(key)} has a name longer than ${MAX_NAME_LENGTH} characters`;
  if (!LABEL_NAME.test(name)) return `${quote(key)} is not a label key (letters, digits, '-', '_', '.'; optional 'prefix/')`;
  return undefined;
}

/** Why `value` is not a label value, or undefined when it is one. */
export function labelValueProblem(value: string): string | undefined {
  if (value.length > MAX_LABEL_VALUE_LENGTH) return `label value is ${value.length} characters long; the most is ${MAX_LABEL_VALUE_LENGTH}`;
  if (value !== '' && !LABEL_NAME.test(value)) return `${quote(value)} is not a label value (letters, digits, '-', '_', '.')`;
  return undefined;
}

export function readLabelKey(check: Checker, value: unknown, path: string): string | undefined {
  const key = check.string(value, path, MAX_LABEL_KEY_LENGTH);
  if (key === undefined) return undefined;
  const problem = labelKeyProblem(key);
  return problem ? check.report(path, 'MUSTER_ERR_INVALID_NAME', problem) : key;
}

export function readLabelValue(check: Checker, value: unknown, path: string): string | undefined {
  const text = check.string(value, path, MAX_LABEL_VALUE_LENGTH);
  if (text === undefined) return undefined;
  const problem = labelValueProblem(text);
  return problem ? check.report(path, 'MUSTER_ERR_INVALID_VALUE', problem) : text;
}

/** A `labels` map. Numbers and booleans are not coerced: a YAML `gpu: true` must be written `"true"`. */
export function readLabels(check: Checker, value: unknown, path: string): Labels {
  const map = check.map(value, path, MAX_LABELS, 'labels');
  const labels: Record<string, string> = {};
  if (map === undefined) return labels;
  for (const [key, raw] of Object.entries(map)) {
    const at = fieldPath(path, key);
    const problem = labelKeyProblem(key);
    if (problem) {
      check.report(at, 'MUSTER_ERR_INVALID_NAME', problem);
      continue;
    }
    const v = readLabelValue(check, raw, at);
    if (v !== undefined) labels[key] = v;
  }
  return labels;
}
