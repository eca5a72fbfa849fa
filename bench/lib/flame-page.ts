/**
 * Flame graph pages of a profiled run (bench/profiles/NAME/): one self-contained HTML page per CPU profile,
 * drawn by d3-flame-graph (with the d3 modules it needs) inlined from node_modules, and an index.html that
 * lists them by process and thread. Why d3-flame-graph: see bench/README.md.
 */
import type { FlameTree } from './flame.js';
import { html, packageFile, scriptJson, scriptText } from './inline-assets.js';

/** The d3 modules d3-flame-graph's UMD build reads from the global `d3`, in dependency order. */
const D3_MODULES = [
  'd3-array',
  'd3-color',
  'd3-dispatch',
  'd3-ease',
  'd3-format',
  'd3-hierarchy',
  'd3-interpolate',
  'd3-selection',
  'd3-time',
  'd3-time-format',
  'd3-timer',
  'd3-scale',
  'd3-transition',
] as const;

export interface FlameAssets {
  readonly scripts: readonly string[];
  readonly css: string;
}

/** The scripts and style a flame graph page inlines, read from the checkout at `root`. */
export function flameAssets(root: string): FlameAssets {
  return {
    scripts: [
      ...D3_MODULES.map((m) => packageFile(root, m, `dist/${m}.min.js`, 'd3-flame-graph')),
      packageFile(root, 'd3-flame-graph', 'dist/d3-flamegraph.umd.min.js'),
    ],
    css: packageFile(root, 'd3-flame-graph', 'dist/d3-flamegraph.css'),
  };
}

/** What a profile was taken of: the process (its command line, shortened) and the thread. */
export interface ProfileMeta {
  readonly file: string;
  readonly process: string;
  readonly pid: number;
  readonly thread: number;
}

const ms = (micros: number): string => `${(micros / 1000).toFixed(1)} ms`;

const STYLE = `body{font:14px system-ui,sans-serif;margin:16px}table{border-collapse:collapse}td,th{padding:2px 8px;text-align:left;border-bottom:1px solid #ddd}td.n{text-align:right;font-variant-numeric:tabular-nums}#details{min-height:1.4em;font-family:monospace}code{font-size:12px}`;

/** The flame graph page of one profile. */
export function flamePage(tree: FlameTree, meta: ProfileMeta, assets: FlameAssets): string {
  const busy = tree.root.value;
  const top = tree.self.slice(0, 25);
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${html(`${meta.process} (thread ${meta.thread})`)}</title>
<style>${assets.css}\n${STYLE}</style></head>
<body>
<p><a href="index.html">all profiles</a></p>
<h1>${html(meta.process)}</h1>
<p>pid ${meta.pid}, ${meta.thread === 0 ? 'main thread' : `thread ${meta.thread}`}; ${ms(tree.totalMicros)} profiled, ${ms(busy)} busy, ${ms(tree.idleMicros)} idle (left out of the graph); ${tree.samples} samples; <code>${html(meta.file)}</code></p>
<p>Click a frame to zoom in, click the bottom frame to zoom out. <input id="search" placeholder="search"> <button id="reset">reset zoom</button></p>
<div id="details"></div>
<div id="chart"></div>
<h2>Self time</h2>
<table><tr><th>frame</th><th>self</th><th>of busy</th></tr>
${top.map((s) => `<tr><td><code>${html(s.name)}</code></td><td class="n">${ms(s.micros)}</td><td class="n">${busy > 0 ? ((100 * s.micros) / busy).toFixed(1) : '0'}%</td></tr>`).join('\n')}
</table>
${assets.scripts.map((s) => `<script>${scriptText(s)}</script>`).join('\n')}
<script>
const data = ${scriptJson(tree.root)};
const busy = data.value || 1;
const chart = flamegraph.default()
  .width(Math.max(800, window.innerWidth - 40))
  .cellHeight(18)
  .minFrameSize(1)
  .sort(true)
  .setDetailsElement(document.getElementById('details'))
  .setLabelHandler((d) => d.data.name + ': ' + (d.data.value / 1000).toFixed(1) + ' ms, ' + (100 * d.data.value / busy).toFixed(1) + '% of busy');
d3.select('#chart').datum(data).call(chart);
document.getElementById('search').addEventListener('input', (e) => chart.search(e.target.value));
document.getElementById('reset').addEventListener('click', () => chart.resetZoom());
</script>
</body></html>
`;
}

export interface IndexEntry {
  readonly meta: ProfileMeta;
  readonly page: string;
  readonly tree: FlameTree;
}

/** The index of a run's profiles: one row per profile, the busiest first. */
export function flameIndex(title: string, entries: readonly IndexEntry[], resultFile?: string): string {
  const rows = [...entries].sort((a, b) => b.tree.root.value - a.tree.root.value);
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${html(title)}</title><style>${STYLE}</style></head>
<body>
<h1>${html(title)}</h1>
<p>${entries.length} CPU profiles, one per process and thread; busy = profiled time not idle.${resultFile ? ` The run's result: <a href="${html(resultFile)}">${html(resultFile)}</a> (measured with the profiler attached: not comparable with bench/results).` : ''}</p>
<table><tr><th>process</th><th>pid</th><th>thread</th><th>profiled</th><th>busy</th><th>top frame by self time</th><th>flame graph</th></tr>
${rows
  .map(
    ({ meta, page, tree }) =>
      `<tr><td>${html(meta.process)}</td><td class="n">${meta.pid}</td><td class="n">${meta.thread === 0 ? 'main' : meta.thread}</td><td class="n">${ms(tree.totalMicros)}</td><td class="n">${ms(tree.root.value)}</td><td><code>${html(tree.self[0]?.name ?? '')}</code></td><td><a href="${html(page)}">${html(page)}</a></td></tr>`,
  )
  .join('\n')}
</table>
</body></html>
`;
}
