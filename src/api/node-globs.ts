/**
 * Which nodes an agent token may speak for: a list of node names, exact or as globs where `*` matches any
 * run of characters (`gpu-*`, `rack-3-*`, `*`). Node names are lower-case letters, digits and `-`
 * (src/model), so `*` is the only character with a meaning of its own.
 */

/** A pattern as a token file may write it: a node name, possibly with `*`s; at most this long. */
const NODE_GLOB = /^[a-z0-9*-]{1,63}$/;

export function isNodeGlob(text: string): boolean {
  return NODE_GLOB.test(text);
}

/** A matcher for the patterns (anchored: `gpu-*` matches `gpu-1`, not `old-gpu-1`). */
export function nodeMatcher(patterns: readonly string[]): (node: string) => boolean {
  const exact = new Set(patterns.filter((p) => !p.includes('*')));
  const globs = patterns.filter((p) => p.includes('*')).map((p) => new RegExp(`^${p.split('*').join('.*')}$`));
  return (node) => exact.has(node) || globs.some((g) => g.test(node));
}
