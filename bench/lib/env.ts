import { cpus, freemem, loadavg, totalmem, release, platform } from 'node:os';
import { activeBackend } from '../../src/placement/index.js';
import { checkout } from './git.js';

/** The 1, 5 and 15 minute load averages, as `"0.18 1.35 2.81"` (the form results have always stored). */
export function loadAverage(): string {
  return loadavg().map((l) => l.toFixed(2)).join(' ');
}

/**
 * What a result was measured on: printed with every table and stored in every JSON result. `cwd` is the
 * checkout (the runner starts in the repository's root). The placement backend is the one `activeBackend()`
 * chooses, the call the server makes when it starts (`MUSTER_PLACEMENT` forces one in both).
 */
export function environment(cwd: string = process.cwd()): Record<string, unknown> {
  const cpu = cpus();
  const git = checkout(cwd);
  return {
    node: process.version,
    v8: process.versions.v8,
    cpu: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    freeMemoryGiB: Math.round((freemem() / 2 ** 30) * 10) / 10,
    os: `${platform()} ${release()}`,
    commit: git?.shortCommit ?? 'unknown',
    commitFull: git?.commit ?? 'unknown',
    // Unknown (not a checkout) is not clean: say so rather than claim a clean tree.
    dirty: git ? git.dirtyPaths.length > 0 : 'unknown',
    ...(git && git.dirtyPaths.length > 0 ? { dirtyPaths: git.dirtyPaths.slice(0, 50) } : {}),
    placementBackend: activeBackend(),
    date: new Date().toISOString(),
    loadAverageAtStart: loadAverage(),
  };
}
