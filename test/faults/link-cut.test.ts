/**
 * An agent's link cut by a TCP relay (real processes; agent-faults.ts `linkCutRun`):
 *
 * - cut while its tasks end, then mended: the agent keeps each end until the server acknowledges it and
 *   reports it on reconnection, so the server records the real outcome and exit code, not `lost` (the
 *   issue: a job with no retries failed "lost (reconciled at registration)" after a one-second blip);
 * - cut past the server's lost timeout: the agent fences its tasks itself before the server declares the
 *   node lost and runs them on a spare agent; mended, it registers again and reports them lost.
 *
 * Then, for the whole run: no task ever had two attempts alive at once (task flocks and marker intervals:
 * marker-task.ts, findings.ts), real outcomes, one end per attempt and per job, nothing left behind.
 */
import t from 'tap';
import { linkCutRun } from './agent-faults.js';
import { assertRun } from './assert-run.js';

/**
 * This file's bound: a run takes 20–30 s here alone, more beside the rest of the suite on two cores (.taprc
 * gives a file 120 s); past this it is hung, not slow.
 */
const FILE_TIMEOUT_MS = 180_000;
t.setTimeout(FILE_TIMEOUT_MS);

t.test('an agent cut off while tasks end, and past the lost timeout: real outcomes kept, no double run, nothing left behind', async (t) => {
  assertRun(t, await linkCutRun({ rounds: 1 }));
});
