/**
 * Builders for written specs (the JSON/YAML form, before validation), so each test states only what it
 * is about: `jobSpec({ gang: true })`, `taskSpec({ count: 4 })`.
 */
export type Raw = Record<string, unknown>;

export function taskSpec(overrides: Raw = {}): Raw {
  return { resources: { cpu: '500m', memory: '256Mi' }, command: ['echo', 'hi'], ...overrides };
}

export function jobSpec(overrides: Raw = {}): Raw {
  return { queue: 'default', tasks: [taskSpec()], ...overrides };
}

export function nodeSpec(overrides: Raw = {}): Raw {
  return { name: 'n1', site: 'a', capacity: { cpu: '8', memory: '32Gi' }, ...overrides };
}

export function queueSpec(overrides: Raw = {}): Raw {
  return { tenant: 'acme', name: 'default', ...overrides };
}

/** A string of `n` copies of `c`. */
export function repeat(n: number, c = 'a'): string {
  return c.repeat(n);
}

/** An object `{ k0: v, k1: v, … }` with `n` entries. */
export function entries<T>(n: number, value: (i: number) => T, key: (i: number) => string = (i) => `k${i}`): Record<string, T> {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [key(i), value(i)]));
}
