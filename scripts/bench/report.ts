/** `npm run bench -- report`: bench/report/index.html from bench/results/*.json and bench/history.jsonl. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readHistory } from '../../bench/lib/history.js';
import { reportData } from '../../bench/lib/report-data.js';
import { reportAssets, reportPage } from '../../bench/lib/report-page.js';
import { readResults } from '../../bench/lib/results.js';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const data = reportData(readResults(join(root, 'bench', 'results')), readHistory(join(root, 'bench', 'history.jsonl')), new Date().toISOString());
const out = join(root, 'bench', 'report', 'index.html');
mkdirSync(join(root, 'bench', 'report'), { recursive: true });
writeFileSync(out, reportPage(data, reportAssets(root)));
console.log(`bench report: ${data.throughput.length} throughput, ${data.latency.length} latency and ${data.history.length} history charts, ${data.runs.length} runs: ${out}`);
