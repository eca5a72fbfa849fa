/**
 * An agent SIGKILLed with tasks running (real `muster server`, real `muster agent` processes, marker
 * tasks under their shims; agent-faults.ts `agentKillRun`):
 *
 * - restarted at once on its work folder, it re-adopts its running tasks: each runs once and its end is
 *   recorded with the task's real exit code;
 * - restarted only after the server has declared its node lost: its shims killed the tasks at the fence
 *   before that, the server ran them again on a spare agent with room, and the restarted agent reports them
 *   lost.
 *
 * Then, for the whole run: no task ever had two attempts alive at once (each attempt tries its task's
 * flock at start, and attempts' intervals from their markers and shims' status files must not overlap:
 * marker-task.ts and findings.ts say why that is exact), every attempt ended once with its real outcome,
 * every job ended once, and no process of the run is left (/proc: nothing names its scratch folder).
 */
import t from 'tap';
import { agentKillRun } from './agent-faults.js';
import { assertRun } from './assert-run.js';

/**
 * This file's bound: a run takes 20–30 s here alone, more beside the rest of the suite on two cores (.taprc
 * gives a file 120 s); past this it is hung, not slow.
 */
const FILE_TIMEOUT_MS = 180_000;
t.setTimeout(FILE_TIMEOUT_MS);

t.test('agents SIGKILLed and restarted: no double run, real exit codes, one end per job, nothing left behind', async (t) => {
  assertRun(t, await agentKillRun({ rounds: 1 }));
});
