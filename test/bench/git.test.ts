// What git says about a checkout (commit, dirty outside the results) and about the code after a commit
// (stale), on a real repository made here; and the environment a result records.
import t from 'tap';
import type { Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { environment } from '../../bench/lib/env.js';
import { changedAfter, checkout } from '../../bench/lib/git.js';
import { BACKENDS } from '../../src/placement/index.js';

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

interface Repo {
  readonly dir: string;
  git(...args: string[]): string;
  /** Writes the files (path → text) without committing them. */
  write(files: Record<string, string>): void;
  /** Writes the files and commits everything; returns the new HEAD. */
  commit(message: string, files: Record<string, string>): string;
}

function repo(t: Test): Repo {
  const dir = mkdtempSync(join(tmpdir(), 'muster-git-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const git = (...args: string[]): string =>
    execFileSync('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@example.invalid', '-c', 'commit.gpgsign=false', ...args], { cwd: dir, encoding: 'utf8' }).trim();
  const write = (files: Record<string, string>): void => {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
  };
  const commit = (message: string, files: Record<string, string>): string => {
    write(files);
    git('add', '.');
    git('commit', '-qm', message);
    return git('rev-parse', 'HEAD');
  };
  git('init', '-q');
  return { dir, git, write, commit };
}

t.test('dirty: changes to sources, not to results, the history or node_modules', async (t) => {
  const { dir, git, write, commit } = repo(t);
  const head = commit('first', { 'src/api/a.ts': 'one', 'bench/results/gateway.json': '{}', 'bench/history.jsonl': '' });

  const clean = checkout(dir)!;
  t.equal(clean.commit, head);
  t.equal(clean.shortCommit, git('rev-parse', '--short', 'HEAD'));
  t.same(clean.dirtyPaths, []);

  write({ 'bench/results/gateway.json': '{"new": 1}', 'bench/results/store.json': '{}', 'bench/history.jsonl': '{}\n', 'node_modules/x/index.js': '' });
  t.same(checkout(dir)!.dirtyPaths, [], 'a run\'s own output does not make it dirty');

  write({ 'README.md': 'edited prose', 'src/api/README.md': 'edited' });
  t.same(checkout(dir)!.dirtyPaths, [], 'nor does documentation (it runs nothing)');

  write({ 'src/api/a.ts': 'two', 'src/api/new.ts': 'new' });
  t.same(checkout(dir)!.dirtyPaths, [' M src/api/a.ts', '?? src/api/new.ts'], 'a changed and an untracked source do');
});

t.test('stale: a commit after touched a measured path', async (t) => {
  const { dir, git, commit, write } = repo(t);
  const measured = commit('measured here', { 'src/api/a.ts': 'one', 'src/store/b.ts': 'one', 'bench/gateway-e2e.ts': 'one' });
  const paths = ['src/api', 'bench/gateway*'];

  t.equal(changedAfter(dir, measured, paths), false, 'nothing after it');
  commit('other code and the result', { 'src/store/b.ts': 'two', 'bench/results/gateway.json': '{}' });
  t.equal(changedAfter(dir, measured, paths), false, 'changes elsewhere do not make it stale');
  t.equal(changedAfter(dir, git('rev-parse', '--short', 'HEAD~1'), paths), false, 'a short hash works');
  commit('a measured helper, by glob', { 'bench/gateway-e2e.ts': 'two' });
  t.equal(changedAfter(dir, measured, paths), true);
  t.equal(changedAfter(dir, measured, ['src/api']), false);
  write({ 'src/api/a.ts': 'uncommitted' });
  t.equal(changedAfter(dir, measured, ['src/api']), true, 'an uncommitted change to a measured path (a table regenerated with the change it ships with)');
  t.equal(changedAfter(dir, measured, ['src/model']), false, 'not one to another path');
  commit('a measured folder\'s README', { 'src/api/README.md': 'docs', 'src/api/a.ts': 'one' });
  t.equal(changedAfter(dir, measured, ['src/api']), false, 'documentation in a measured folder does not make it stale');
  commit('measured code', { 'src/api/a.ts': 'two' });
  t.equal(changedAfter(dir, measured, ['src/api']), true);
  t.equal(changedAfter(dir, 'deadbee', paths), undefined, 'a commit git does not know');
  t.equal(checkout(join(tmpdir())), undefined, 'outside a checkout');
});

t.test('the environment a result records', async (t) => {
  const env = environment(ROOT);
  t.match(env['commitFull'], /^[0-9a-f]{40}$/);
  t.ok(String(env['commitFull']).startsWith(String(env['commit'])), 'the short commit is the full one\'s prefix');
  t.type(env['dirty'], 'boolean');
  t.ok((BACKENDS as readonly unknown[]).includes(env['placementBackend']), `a placement backend (${String(env['placementBackend'])})`);
  t.match(env['loadAverageAtStart'], /^\d+\.\d\d \d+\.\d\d \d+\.\d\d$/);
  for (const key of ['cpu', 'cores', 'memoryGiB', 'os', 'node', 'v8', 'date']) t.ok(env[key] !== undefined, key);
});
