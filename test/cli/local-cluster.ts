/**
 * `muster start` (a real server and a real agent running real processes on this machine) on a free port and
 * a temporary data folder, for tests of the commands a user runs against it; and `muster` commands run as a
 * user runs them (`node bin/muster.js …`, the built CLI: build first) with that server in their environment.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { freePort } from '../helpers/free-port.js';
import { MusterChild, ROOT } from '../server/muster-child.js';

export interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface LocalCluster {
  readonly url: string;
  readonly token: string;
  /** `MUSTER_SERVER` and `MUSTER_TOKEN` for it. */
  readonly env: Record<string, string>;
  /** `muster ARGS` against it; resolves with its exit status and output. */
  muster(args: readonly string[]): Promise<Ran>;
}

/** Starts `muster start`; the test's teardown stops it and removes its folder. */
export async function localCluster(t: Test): Promise<LocalCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'muster-cluster-'));
  const port = await freePort();
  const start = new MusterChild(['start'], { MUSTER_PORT: String(port), MUSTER_DATA: join(dir, 'data'), MUSTER_LOG_LEVEL: 'warn' });
  t.teardown(async () => {
    start.signal('SIGTERM');
    await start.exited;
    rmSync(dir, { recursive: true, force: true });
  });
  const url = (await start.line(/^url: (\S+)$/))[1]!;
  const token = (await start.line(/^token: (\S+)$/))[1]!;
  await start.line(/^ready: /);
  const env = { MUSTER_SERVER: url, MUSTER_TOKEN: token };
  return {
    url,
    token,
    env,
    muster: (args) =>
      new Promise<Ran>((resolve) => {
        execFile(process.execPath, [join(ROOT, 'bin', 'muster.js'), ...args], { cwd: dir, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
        });
      }),
  };
}
