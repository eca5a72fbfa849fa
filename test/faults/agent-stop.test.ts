/**
 * An agent SIGSTOPped with tasks running, past the server's lost timeout, then SIGCONTed (real processes;
 * agent-faults.ts `agentStopRun`): while the agent is stopped its shims kill its tasks when its lease runs
 * out (the fence), before the server declares the node lost and runs them on a spare agent; resumed, the
 * agent is heard from again and reports them lost. The issue this guards against: 4 of 4 tasks ran twice at
 * once for ~15 s, the paused agent's attempts never told to stop.
 *
 * Then, for the whole run: no task ever had two attempts alive at once (task flocks and marker intervals:
 * marker-task.ts, findings.ts), real outcomes, one end per attempt and per job, nothing left behind.
 */
import t from 'tap';
import { agentStopRun } from './agent-faults.js';
import { assertRun } from './assert-run.js';

/**
 * This file's bound: a run takes 20–30 s here alone, more beside the rest of the suite on two cores (.taprc
 * gives a file 120 s); past this it is hung, not slow.
 */
const FILE_TIMEOUT_MS = 180_000;
t.setTimeout(FILE_TIMEOUT_MS);

t.test('an agent stopped past the lost timeout: fenced before its node is lost, no double run, nothing left behind', async (t) => {
  assertRun(t, await agentStopRun({ rounds: 1 }));
});
