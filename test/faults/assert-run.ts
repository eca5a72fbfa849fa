/**
 * The assertions every agent fault test makes on its run's report (fault-cluster.ts): one per property of
 * issue 12's fault suite, each printing what broke it. The run's notes (what the faults did) are printed as
 * comments, so a passing run still says what it went through.
 */
import type { Test } from 'tap';
import type { RunReport } from './fault-cluster.js';

export function assertRun(t: Test, report: RunReport): void {
  for (const note of report.notes) t.comment(note);
  t.comment(`${report.jobs} jobs, ${report.attempts} attempts started, ${report.seconds.toFixed(1)} s; real ends recorded as fenced: ${report.findings.realEndsRecordedFenced}`);
  for (const line of report.errorLogs) t.comment(`logged at error or above: ${line}`);
  t.ok(report.jobs > 0 && report.attempts >= report.jobs, 'the run ran its jobs');
  t.same(report.findings.doubleRuns, [], 'no task ever had two attempts running at once (task locks and intervals)');
  t.same(report.findings.unended, [], 'every attempt that started has a recorded end');
  t.same(report.findings.endsPerAttempt, [], 'every attempt placed ended exactly once');
  t.same(report.findings.wrongOutcomes, [], 'every recorded outcome and exit code is the real one (lost only where it could not be known)');
  t.same(report.findings.notTerminal, [], 'every job reached exactly one terminal state');
  t.same(report.faultFindings, [], 'the fault showed what it must (fence before loss, no blame for a server stall)');
  t.same(report.tasksAfterEnd, [], 'no task process runs once every job has ended');
  t.same(report.leftovers, [], 'no process is left behind (task, shim, agent or server)');
}
