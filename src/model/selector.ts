/**
 * Label selectors: which nodes a job may run on, by their labels.
 *
 * | written           | object form                                        | matches a node whose labels…     |
 * |-------------------|----------------------------------------------------|----------------------------------|
 * | `zone=a`          | `{ key: zone, op: "=", values: [a] }`              | have zone and it is `a`          |
 * | `zone!=a`         | `{ key: zone, op: "!=", values: [a] }`             | lack zone, or it is not `a`      |
 * | `disk in (ssd,nvme)` | `{ key: disk, op: in, values: [ssd, nvme] }`    | have disk and it is one of them  |
 * | `disk notin (hdd)`   | `{ key: disk, op: notin, values: [hdd] }`       | lack disk, or it is none of them |
 * | `gpu`             | `{ key: gpu, op: exists }`                          | have the key gpu                 |
 *
 * `!=` and `notin` match nodes without the key, as in Kubernetes.
 */
import type { Checker } from './check.js';
import type { Labels } from './labels.js';
import { labelKeyProblem, labelValueProblem, readLabelKey, readLabelValue } from './labels.js';
import { MAX_SELECTOR_VALUES } from './limits.js';
import { fieldPath, indexPath, quote } from './problems.js';
import type { Parsed } from './quantity.js';

export const SELECTOR_OPS = ['=', '!=', 'in', 'notin', 'exists'] as const;
export type SelectorOp = (typeof SELECTOR_OPS)[number];
/** The object form of a selector (`{ key, op, value | values }`). */
export const SELECTOR_FIELDS = ['key', 'op', 'values', 'value'] as const;

export interface Selector {
  readonly key: string;
  readonly op: SelectorOp;
  /** One value for `=` and `!=`, one or more for `in` and `notin`, none for `exists`. */
  readonly values: readonly string[];
}

const SET_FORM = /^\s*([^\s!=]+)\s+(in|notin)\s*\(([^)]*)\)\s*$/;
const EQ_FORM = /^\s*([^\s!=]+)\s*(==|=|!=)\s*([^\s]*)\s*$/;
const EXISTS_FORM = /^\s*([^\s!=(),]+)\s*$/;

/** Parse the written form (`zone=a`, `disk in (ssd,nvme)`, `gpu`). */
export function parseSelector(text: string): Parsed<Selector> {
  let selector: Selector | undefined;
  const set = SET_FORM.exec(text);
  const eq = EQ_FORM.exec(text);
  const exists = EXISTS_FORM.exec(text);
  if (set) {
    const body = (set[3] ?? '').trim();
    const values = body === '' ? [] : body.split(',').map((v) => v.trim());
    selector = { key: set[1] ?? '', op: set[2] as SelectorOp, values };
  } else if (eq) {
    selector = { key: eq[1] ?? '', op: eq[2] === '!=' ? '!=' : '=', values: [eq[3] ?? ''] };
  } else if (exists) {
    selector = { key: exists[1] ?? '', op: 'exists', values: [] };
  }
  if (!selector) return { ok: false, message: `${quote(text)} is not a selector (write key=value, key!=value, key in (a,b), key notin (a,b) or key)` };
  const problem = selectorProblem(selector);
  return problem ? { ok: false, message: problem } : { ok: true, value: selector };
}

function selectorProblem(s: Selector): string | undefined {
  const keyProblem = labelKeyProblem(s.key);
  if (keyProblem) return keyProblem;
  if ((s.op === 'in' || s.op === 'notin') && s.values.length === 0) return `${s.op} needs at least one value`;
  if ((s.op === 'in' || s.op === 'notin') && s.values.length > MAX_SELECTOR_VALUES) {
    return `${s.op} has ${s.values.length} values; the most is ${MAX_SELECTOR_VALUES}`;
  }
  for (const v of s.values) {
    const problem = labelValueProblem(v);
    if (problem) return problem;
  }
  return undefined;
}

export function formatSelector(s: Selector): string {
  switch (s.op) {
    case '=':
    case '!=':
      return `${s.key}${s.op}${s.values[0] ?? ''}`;
    case 'in':
    case 'notin':
      return `${s.key} ${s.op} (${s.values.join(',')})`;
    case 'exists':
      return s.key;
  }
}

export function matchesSelector(s: Selector, labels: Labels): boolean {
  const value = Object.hasOwn(labels, s.key) ? labels[s.key] : undefined;
  switch (s.op) {
    case '=':
      return value !== undefined && value === s.values[0];
    case '!=':
      return value === undefined || value !== s.values[0];
    case 'in':
      return value !== undefined && s.values.includes(value);
    case 'notin':
      return value === undefined || !s.values.includes(value);
    case 'exists':
      return value !== undefined;
  }
}

export function matchesAll(selectors: readonly Selector[], labels: Labels): boolean {
  return selectors.every((s) => matchesSelector(s, labels));
}

/** A selector in either form: a string, or `{ key, op, values | value }`. */
export function readSelector(check: Checker, value: unknown, path: string): Selector | undefined {
  if (typeof value === 'string') return check.parsed(parseSelector(value), path, 'MUSTER_ERR_INVALID_SELECTOR');
  const fields = check.object(value, path, SELECTOR_FIELDS);
  if (!fields) return undefined;
  const key = readLabelKey(check, check.required(fields, 'key', path), fieldPath(path, 'key'));
  const op = check.oneOf(check.required(fields, 'op', path), fieldPath(path, 'op'), SELECTOR_OPS);
  let values: string[] = [];
  const before = check.problems.length;
  if (fields['value'] !== undefined && fields['values'] !== undefined) {
    return check.report(path, 'MUSTER_ERR_INVALID_SELECTOR', 'give value or values, not both');
  }
  if (fields['value'] !== undefined) {
    const v = readLabelValue(check, fields['value'], fieldPath(path, 'value'));
    if (v !== undefined) values = [v];
  } else if (fields['values'] !== undefined) {
    const list = check.array(fields['values'], fieldPath(path, 'values'), MAX_SELECTOR_VALUES, 'values');
    list?.forEach((item, i) => {
      const v = readLabelValue(check, item, indexPath(fieldPath(path, 'values'), i));
      if (v !== undefined) values.push(v);
    });
  }
  if (key === undefined || op === undefined || check.problems.length !== before) return undefined;
  const want = op === 'exists' ? 'none' : op === '=' || op === '!=' ? 'one' : 'some';
  if ((want === 'none' && values.length > 0) || (want === 'one' && values.length !== 1) || (want === 'some' && values.length === 0)) {
    return check.report(path, 'MUSTER_ERR_INVALID_SELECTOR', `${op} takes ${want === 'none' ? 'no values' : want === 'one' ? 'exactly one value' : 'at least one value'}`);
  }
  return { key, op, values };
}
