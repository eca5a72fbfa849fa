/**
 * bench/report/index.html (`npm run bench -- report`): one self-contained page of plots drawn by uPlot,
 * inlined from node_modules with the data, so it opens from file:// with no network. Why uPlot: see
 * bench/README.md. What it plots is report-data.ts.
 */
import type { EnvRow, ReportData } from './report-data.js';
import { html, packageFile, scriptJson, scriptText } from './inline-assets.js';

export interface ReportAssets {
  readonly script: string;
  readonly css: string;
}

export function reportAssets(root: string): ReportAssets {
  return { script: packageFile(root, 'uplot', 'dist/uPlot.iife.min.js'), css: packageFile(root, 'uplot', 'dist/uPlot.min.css') };
}

const STYLE = `body{font:14px system-ui,sans-serif;margin:16px;max-width:1400px}.charts{display:flex;flex-wrap:wrap;gap:16px}.chart{border:1px solid #ddd;padding:8px}.notes{font:11px monospace;color:#555;max-height:8em;overflow:auto}table{border-collapse:collapse;font-size:12px}td,th{padding:2px 6px;border-bottom:1px solid #ddd;text-align:left}pre{font-size:12px}`;

const field = (env: Record<string, unknown>, ...keys: string[]): string => {
  for (const k of keys) if (env[k] !== undefined) return String(env[k]);
  return '';
};

function runRow(r: EnvRow): string {
  const e = r.env;
  const cells = [
    r.date.slice(0, 19).replace('T', ' '),
    r.benchmark,
    r.commit,
    r.dirty,
    r.quick ? 'quick' : '',
    r.seeded ? 'seeded' : '',
    field(e, 'cpu'),
    field(e, 'cores'),
    field(e, 'memoryGiB'),
    field(e, 'os'),
    field(e, 'node'),
    field(e, 'placementBackend', 'backend'),
    field(e, 'loadAverageAtStart', 'loadAverageStart'),
    field(e, 'loadAverageAtEnd', 'loadAverageEnd'),
  ];
  return `<tr>${cells.map((c) => `<td>${html(c)}</td>`).join('')}</tr>`;
}

/** The page: three sections of charts, then the environment of every run in the history and of each result. */
export function reportPage(data: ReportData, assets: ReportAssets): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>muster benchmarks</title>
<style>${assets.css}\n${STYLE}</style></head>
<body>
<h1>muster benchmarks</h1>
<p>Generated ${html(data.generated)} from bench/results/*.json and bench/history.jsonl. Values are medians of the samples.</p>
<h2>Throughput against size</h2>
<p>Cases whose id carries a size (<code>accept-batch-1000</code>, <code>native-10k-mixed</code>), one series per family; both axes logarithmic where the values span more than 100×.</p>
<div class="charts" id="throughput"></div>
<h2>Latency distributions</h2>
<p>The samples of each case measured in time, sorted: the x axis is the fraction of samples at or below the value.</p>
<div class="charts" id="latency"></div>
<h2>History across commits</h2>
<p>Each case's value in every full run in bench/history.jsonl (<code>--quick</code> runs left out; seeded lines come from result files written before the history).</p>
<div class="charts" id="history"></div>
<h2>Environment of each run</h2>
<table><tr><th>date</th><th>benchmark</th><th>commit</th><th>dirty</th><th></th><th></th><th>cpu</th><th>cores</th><th>GiB</th><th>os</th><th>node</th><th>placement</th><th>load at start</th><th>at end</th></tr>
${data.runs.map(runRow).join('\n')}
</table>
<h2>Current results: environment and configuration</h2>
${data.current.map((r) => `<details><summary>${html(r.name)}</summary><pre>${html(JSON.stringify({ env: r.env, config: r.config }, null, 2))}</pre></details>`).join('\n')}
<script>${scriptText(assets.script)}</script>
<script>
const DATA = ${scriptJson(data)};
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
function draw(where, chart) {
  const box = document.createElement('div');
  box.className = 'chart';
  document.getElementById(where).appendChild(box);
  const opts = {
    title: chart.title,
    width: 640,
    height: 300,
    scales: { x: { time: !!chart.time, ...(chart.logX ? { distr: 3 } : {}) }, y: chart.logY ? { distr: 3 } : {} },
    axes: [{ label: chart.xLabel }, { label: chart.yLabel, size: 70 }],
    series: [{ label: chart.xLabel }, ...chart.series.map((s, i) => ({ label: s.label, stroke: COLORS[i % COLORS.length], points: { show: true, size: 6 }, spanGaps: true }))],
  };
  new uPlot(opts, [chart.x, ...chart.series.map((s) => s.values)], box);
  if (chart.xNotes) {
    const notes = document.createElement('div');
    notes.className = 'notes';
    notes.textContent = chart.xNotes.join('\\n');
    notes.style.whiteSpace = 'pre';
    box.appendChild(notes);
  }
}
for (const section of ['throughput', 'latency', 'history']) {
  if (DATA[section].length === 0) document.getElementById(section).textContent = 'nothing to plot';
  for (const chart of DATA[section]) draw(section, chart);
}
</script>
</body></html>
`;
}
