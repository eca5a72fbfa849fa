/**
 * What git says about the checkout a result is measured in and about the code after it: the commit, whether
 * the tree held changes the commit does not (a dirty result cannot be reproduced from its commit alone), and
 * whether the code a benchmark measures changed after the commit it was measured at (a stale result).
 */
import { execFileSync } from 'node:child_process';

/** Paths whose changes never make a result dirty: the results themselves, and node_modules (a link in a worktree). */
export const NOT_SOURCES: readonly string[] = ['bench/results', 'bench/history.jsonl', 'node_modules'];

/** Documentation inside measured folders (a folder's README) runs nothing: changing it leaves results fresh. */
const NOT_MEASURED: readonly string[] = [':(exclude,glob)**/*.md'];

function git(cwd: string, args: readonly string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 * 2 ** 20 });
}

export interface Checkout {
  /** Full hash of HEAD. */
  readonly commit: string;
  readonly shortCommit: string;
  /** `git status --porcelain` lines outside NOT_SOURCES and Markdown files: empty when the code is the commit's. */
  readonly dirtyPaths: readonly string[];
}

/** HEAD and the tree's changes in `cwd`, or undefined outside a git checkout. */
export function checkout(cwd: string): Checkout | undefined {
  try {
    const commit = git(cwd, ['rev-parse', 'HEAD']).trim();
    const shortCommit = git(cwd, ['rev-parse', '--short', 'HEAD']).trim();
    const status = git(cwd, ['status', '--porcelain', '--', '.', ...NOT_SOURCES.map((p) => `:(exclude)${p}`), ...NOT_MEASURED]);
    return { commit, shortCommit, dirtyPaths: status.split('\n').filter((line) => line.trim() !== '') };
  } catch {
    return undefined;
  }
}

/**
 * Whether a commit after `commit` (up to HEAD), or a change not yet committed, touched one of `paths` (git pathspecs: `src/api`,
 * `bench/gateway*`); undefined when git does not know `commit` (a shallow clone, a rewritten history).
 */
export function changedAfter(cwd: string, commit: string, paths: readonly string[]): boolean | undefined {
  try {
    git(cwd, ['cat-file', '-e', `${commit}^{commit}`]);
  } catch {
    return undefined;
  }
  const specs = [...paths, ...NOT_MEASURED];
  if (git(cwd, ['log', '--format=%H', `${commit}..HEAD`, '--', ...specs]).trim() !== '') return true;
  // Uncommitted changes count too: a table regenerated in the same commit as a code change then says what it
  // will say once that change is committed.
  return git(cwd, ['status', '--porcelain', '--', ...specs]).trim() !== '';
}
