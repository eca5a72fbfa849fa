/**
 * The CPU profiles of a profiled run (bench/profiles/NAME/): which process and thread each is, from Node's
 * file names (`CPU.DATE.TIME.PID.TID.SEQ.cpuprofile`) and the command lines profile-preload.cjs recorded, and
 * the flame graph pages made from them.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { CpuProfile } from './flame.js';
import { flameTree } from './flame.js';
import type { IndexEntry, ProfileMeta } from './flame-page.js';
import { flameAssets, flameIndex, flamePage } from './flame-page.js';

/**
 * A short name for a process from its command line: the script (the repository's root taken off; `muster`
 * for bin/muster.js) and its first two arguments: `muster server --data`, `bench/run.ts cli`; `node -e 0`.
 */
export function processLabel(argv: readonly string[], execArgv: readonly string[], root: string): string {
  const script = argv[1];
  if (script === undefined) return ['node', ...execArgv.filter((a) => !a.startsWith('--require'))].join(' ').slice(0, 80);
  const path = script.startsWith(`${root}/`) ? relative(root, script) : script;
  return [path === 'bin/muster.js' ? 'muster' : path, ...argv.slice(2, 4)].join(' ');
}

/** Pid and thread id from a profile's file name, or undefined for a name Node did not make. */
export function profileIds(file: string): { pid: number; thread: number } | undefined {
  const m = /^CPU\.\d+\.\d+\.(\d+)\.(\d+)\.\d+\.cpuprofile$/.exec(file);
  return m ? { pid: Number(m[1]), thread: Number(m[2]) } : undefined;
}

/** Writes a flame graph page per profile in `dir` and index.html; returns the number of profiles. */
export function writeFlameGraphs(dir: string, root: string, title: string): number {
  const assets = flameAssets(root);
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort();
  const entries: IndexEntry[] = [];
  for (const file of files) {
    const ids = profileIds(file) ?? { pid: 0, thread: 0 };
    const tag = join(dir, `process-${ids.pid}.json`);
    const tagged = existsSync(tag) ? (JSON.parse(readFileSync(tag, 'utf8')) as { argv: string[]; execArgv: string[] }) : undefined;
    const meta: ProfileMeta = { file, pid: ids.pid, thread: ids.thread, process: tagged ? processLabel(tagged.argv, tagged.execArgv, root) : `pid ${ids.pid}` };
    const tree = flameTree(JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile, { root, title: meta.process });
    const page = `flame-${ids.pid}-${ids.thread}-${file.split('.').at(-2)}.html`;
    writeFileSync(join(dir, page), flamePage(tree, meta, assets));
    entries.push({ meta, page, tree });
  }
  const result = readdirSync(dir).find((f) => f.endsWith('.json') && !f.startsWith('process-'));
  writeFileSync(join(dir, 'index.html'), flameIndex(title, entries, result));
  return files.length;
}
