/**
 * The server SIGSTOPped with tasks running on two agents, past its own lost timeout, then SIGCONTed (real
 * processes; agent-faults.ts `serverStopRun`): the agents lose contact and fence their tasks (killed by
 * agent and shim); the resumed server notices its own stall and blames no node (no attempt ends `node …
 * lost`); the agents come back and report the tasks lost (fenced), which run again. The issue this guards
 * against: the server paused for 9 s declared every node lost at once and started second attempts while
 * the first, never killed, ran on (6 of 6 tasks twice).
 *
 * Then, for the whole run: no task ever had two attempts alive at once (task flocks and marker intervals:
 * marker-task.ts, findings.ts), real outcomes, one end per attempt and per job, nothing left behind.
 */
import t from 'tap';
import { serverStopRun } from './agent-faults.js';
import { assertRun } from './assert-run.js';

/**
 * This file's bound: a run takes 20–30 s here alone, more beside the rest of the suite on two cores (.taprc
 * gives a file 120 s); past this it is hung, not slow.
 */
const FILE_TIMEOUT_MS = 180_000;
t.setTimeout(FILE_TIMEOUT_MS);

t.test('the server stopped past its lost timeout: agents fence, nobody is blamed, no double run, nothing left behind', async (t) => {
  assertRun(t, await serverStopRun({ rounds: 1 }));
});
