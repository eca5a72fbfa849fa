/**
 * What the working tree held besides the commit a result names: a result measured with uncommitted changes
 * to the sources says so in its environment, since the commit alone would not reproduce it.
 */
import { execFileSync } from 'node:child_process';

/** `git status --porcelain` lines of paths under `paths` (e.g. `src`), or undefined outside a checkout. */
export function uncommitted(paths: readonly string[]): string[] | undefined {
  try {
    const out = execFileSync('git', ['status', '--porcelain', '--', ...paths], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return out.split('\n').filter((line) => line.trim() !== '');
  } catch {
    return undefined;
  }
}
