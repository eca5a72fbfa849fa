/**
 * The replay's output: human tables or JSON. Deterministic by construction — rows sorted by name (the
 * reports already are), numbers with a fixed number of decimals, nothing from the wall clock — so the same
 * history and flags always print the same bytes.
 */
import type { ReplayReport } from './report.js';
import { REPORT_STATUSES } from './report.js';
import type { ReplayResult } from './replay.js';

interface Run {
  readonly name: string;
  readonly report: ReplayReport;
}

function runsOf(result: ReplayResult): Run[] {
  return result.mode === 'recorded'
    ? [{ name: 'recorded', report: result.recorded }]
    : [
        { name: 'baseline', report: result.baseline },
        { name: 'what-if', report: result.whatIf },
      ];
}

// ------------------------------------------------------------------------------------------------ numbers

const seconds = (ms: number): string => (ms / 1000).toFixed(1);
const percent = (x: number | undefined, decimals = 0): string => (x === undefined ? '-' : `${(x * 100).toFixed(decimals)}%`);
/** millicore·ms → core·s. */
const coreSeconds = (cpuTime: number): number => cpuTime / 1e6;
/** A difference as printed, with its sign (`+3`, `-1.5`, `0.0`: no sign when it prints as zero). */
const signed = (text: string): string => (Number(text) > 0 ? `+${text}` : Number(text) < 0 ? text : text.replace(/^-/, ''));
const round = (x: number, decimals: number): number => Number(x.toFixed(decimals));
const roundOrNull = (x: number | undefined, decimals: number): number | null => (x === undefined ? null : round(x, decimals));

// ------------------------------------------------------------------------------------------------- tables

/** Columns padded to their widest cell; the first column left-aligned, the others right-aligned. */
function table(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => `  ${row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number))).join('  ')}`.trimEnd());
}

function jobsSection(runs: readonly Run[]): string[] {
  const header = ['status', ...runs.map((r) => r.name), ...(runs.length === 2 ? ['change'] : [])];
  const rows = [...REPORT_STATUSES, 'total' as const].map((status) => {
    const counts = runs.map((r) => (status === 'total' ? Object.values(r.report.jobs).reduce((a, b) => a + b, 0) : r.report.jobs[status]));
    const change = counts.length === 2 ? [signed(String((counts[1] as number) - (counts[0] as number)))] : [];
    return [status, ...counts.map(String), ...change];
  });
  return ['jobs by status at the end', ...table([header, ...rows])];
}

function waitsSection(runs: readonly Run[]): string[] {
  const header = ['queue', 'run', 'submitted', 'started', 'p50 s', 'p90 s', 'max s'];
  const rows = queueNames(runs).flatMap((queue) =>
    runs.map((r) => {
      const q = r.report.queues.find((x) => x.queue === queue);
      const w = q?.wait;
      return [queue, r.name, String(q?.submitted ?? 0), String(w?.count ?? 0), w ? seconds(w.p50Ms) : '-', w ? seconds(w.p90Ms) : '-', w ? seconds(w.maxMs) : '-'];
    }),
  );
  return ['waits per queue (submission to the first task running)', ...table([header, ...rows])];
}

function cpuSection(runs: readonly Run[]): string[] {
  const header = ['queue', ...runs.flatMap((r) => [`${r.name} core·s`, 'share']), ...(runs.length === 2 ? ['change'] : [])];
  const rows = queueNames(runs).map((queue) => {
    const qs = runs.map((r) => r.report.queues.find((x) => x.queue === queue));
    const cells = qs.flatMap((q) => [coreSeconds(q?.cpuTime ?? 0).toFixed(1), percent(q?.share, 1)]);
    const [a, b] = qs.map((q) => q?.share);
    const change = runs.length === 2 ? [a === undefined || b === undefined ? '-' : `${signed(((b - a) * 100).toFixed(1))} pp`] : [];
    return [queue, ...cells, ...change];
  });
  return ['cpu per queue (held by placed and running tasks, over the window)', ...table([header, ...rows])];
}

function sitesSection(runs: readonly Run[]): string[] {
  const first = (runs[0] as Run).report;
  const bucketMs = first.buckets > 0 ? first.windowMs / first.buckets : 0;
  const header = ['site', 'run', 'nodes', 'used', 'busy', 'mean', ...Array.from({ length: first.buckets }, (_, i) => `t${i + 1}`)];
  const names = [...new Set(runs.flatMap((r) => r.report.sites.map((s) => s.site)))].sort();
  const rows = names.flatMap((site) =>
    runs.map((r) => {
      const s = r.report.sites.find((x) => x.site === site);
      const buckets = s ? s.utilisation.map((u) => percent(u)) : new Array<string>(first.buckets).fill('-');
      return [site, r.name, String(s?.nodes ?? 0), String(s?.nodesUsed ?? 0), s?.busyNodes === undefined ? '-' : s.busyNodes.toFixed(1), percent(s?.meanUtilisation), ...buckets];
    }),
  );
  return [
    `cpu utilisation per site (allocated ÷ offered; t1..t${first.buckets}: buckets of ${seconds(bucketMs)} s; used: nodes that ever held work; busy: nodes holding work, on average)`,
    ...table([header, ...rows]),
  ];
}

function queueNames(runs: readonly Run[]): string[] {
  return [...new Set(runs.flatMap((r) => r.report.queues.map((q) => q.queue)))].sort();
}

/** The human form: a header, then one table per section, blank lines between. */
export function formatTables(result: ReplayResult): string {
  const { history } = result;
  const header = [history.events === 0 ? 'history: no events' : `history: seq ${history.firstSeq}..${history.lastSeq} (${history.events} events) over ${seconds(history.spanMs)} s`];
  if (result.mode === 'what-if') {
    header.push(`what-if: ${result.changes.join(' ')}`);
    header.push('baseline: the recorded policy; what-if: the policy changed as above. Both re-run the recorded submissions, node events');
    header.push('and task lengths in simulated time over the recorded span.');
  }
  const runs = runsOf(result);
  return [header, jobsSection(runs), waitsSection(runs), cpuSection(runs), sitesSection(runs)].map((lines) => lines.join('\n')).join('\n\n');
}

// --------------------------------------------------------------------------------------------------- JSON

function reportJson(report: ReplayReport): unknown {
  return {
    windowMs: Math.round(report.windowMs),
    buckets: report.buckets,
    jobs: report.jobs,
    queues: report.queues.map((q) => ({
      queue: q.queue,
      submitted: q.submitted,
      wait: q.wait ? { count: q.wait.count, p50Ms: Math.round(q.wait.p50Ms), p90Ms: Math.round(q.wait.p90Ms), maxMs: Math.round(q.wait.maxMs) } : null,
      cpuCoreSeconds: round(coreSeconds(q.cpuTime), 3),
      share: roundOrNull(q.share, 4),
    })),
    sites: report.sites.map((s) => ({
      site: s.site,
      nodes: s.nodes,
      nodesUsed: s.nodesUsed,
      busyNodes: roundOrNull(s.busyNodes, 3),
      meanUtilisation: roundOrNull(s.meanUtilisation, 4),
      utilisation: s.utilisation.map((u) => roundOrNull(u, 4)),
    })),
  };
}

/** The machine form: `{ mode, history, changes?, runs: { recorded } | { baseline, whatIf } }`. */
export function formatJson(result: ReplayResult): string {
  const runs = result.mode === 'recorded' ? { recorded: reportJson(result.recorded) } : { baseline: reportJson(result.baseline), whatIf: reportJson(result.whatIf) };
  const changes = result.mode === 'what-if' ? { changes: result.changes } : {};
  return JSON.stringify({ mode: result.mode, history: result.history, ...changes, runs }, null, 2);
}
