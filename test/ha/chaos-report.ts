/**
 * The chaos run's report as lines (chaos-run.ts `ChaosReport`): faults by kind, failover and step-down times
 * (median, 90th percentile, most), the load's counts, the log's size and epochs, notes and error lines; and
 * every problem found, one a line. `npm run chaos` prints both; the test prints the report as comments.
 */
import { median, quantile } from '../../bench/lib/index.js';
import { findingLines } from './chaos-checks.js';
import type { ChaosReport, FaultRecord } from './chaos-run.js';
import { FAULT_KINDS } from './chaos-run.js';

function spread(label: string, values: readonly number[]): string {
  if (values.length === 0) return `${label}: none`;
  const s = (n: number): string => `${(n / 1000).toFixed(2)} s`;
  return `${label} (${values.length}): median ${s(median(values))}, p90 ${s(quantile(values, 0.9))}, max ${s(Math.max(...values))}`;
}

export function problemLines(report: ChaosReport): string[] {
  return [
    ...findingLines(report.findings),
    ...report.faultFindings.map((x) => `fault: ${x}`),
    ...report.tasksAfterEnd.map((p) => `task after the end: ${p.pid} ${p.command}`),
    ...report.leftovers.map((p) => `left behind: ${p.pid} ${p.command}`),
  ];
}

export function reportLines(report: ChaosReport): string[] {
  const of = (kind: string): FaultRecord[] => report.faults.filter((f) => f.kind === kind);
  const leaderFaults = report.faults.filter((f) => f.failoverMs !== undefined);
  return [
    `seed ${report.seed}: ${report.faults.length} faults in ${report.seconds.toFixed(0)} s (${FAULT_KINDS.map((k) => `${k} ${of(k).length}`).join(', ')})`,
    spread('a new leader served after', leaderFaults.map((f) => f.failoverMs!)),
    spread('  of which kill-leader', of('kill-leader').map((f) => f.failoverMs!)),
    spread('  of which pause-leader', of('pause-leader').map((f) => f.failoverMs!)),
    spread('its own takeover', leaderFaults.flatMap((f) => (f.tookOverMs !== undefined ? [f.tookOverMs] : []))),
    spread('a paused leader stepped down after SIGCONT', of('pause-leader').map((f) => f.stepDownMs!)),
    spread('settled after a fault', report.faults.map((f) => f.settledMs)),
    `leader kept through an etcd member kill: ${of('kill-etcd-member').filter((f) => f.leaderBefore.epoch === f.leaderAfter.epoch).length} of ${of('kill-etcd-member').length}; through a standby kill: ${of('kill-standby').filter((f) => f.leaderBefore.epoch === f.leaderAfter.epoch).length} of ${of('kill-standby').length}`,
    `load: ${report.acked} jobs acknowledged, ${report.jobs} listed by the final leader, ${report.attempts} attempts started; ${report.submissionsRetried} submissions sent again (${JSON.stringify(report.submitFailures)})`,
    `log: ${report.log.events} events to seq ${report.log.lastSeq}, ${report.log.epochs.length} writer epochs`,
    ...report.notes,
    ...report.errorLogs.map((l) => `logged at error: ${l}`),
  ];
}

