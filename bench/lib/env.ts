import { execFileSync } from 'node:child_process';
import { cpus, freemem, totalmem, release, platform } from 'node:os';

/** What a result was measured on: printed with every table and stored in every JSON result. */
export function environment(): Record<string, unknown> {
  const cpu = cpus();
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    // not a checkout: leave it unknown
  }
  return {
    node: process.version,
    v8: process.versions.v8,
    cpu: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    freeMemoryGiB: Math.round((freemem() / 2 ** 30) * 10) / 10,
    os: `${platform()} ${release()}`,
    commit,
    date: new Date().toISOString(),
  };
}
