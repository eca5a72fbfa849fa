/**
 * Human output: aligned tables (columns padded to their widest cell, numbers right-aligned, two spaces
 * between columns, as `kubectl get` and `squeue` print them) and the small formatters the tables share.
 */
import { formatCpu, formatMemory } from '../model/index.js';

export interface Column<Row> {
  readonly header: string;
  readonly cell: (row: Row) => string;
  /** Right-align (numbers). */
  readonly right?: boolean;
}

/** The table as lines: a header line, then one line per row. No trailing spaces. */
export function renderTable<Row>(columns: readonly Column<Row>[], rows: readonly Row[]): string[] {
  const cells = rows.map((row) => columns.map((c) => c.cell(row).replace(/\s+/g, ' ')));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => (r[i] as string).length)));
  const line = (values: readonly string[]): string =>
    values
      .map((v, i) => (columns[i]?.right ? v.padStart(widths[i] as number) : v.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)];
}

/** `key: value` lines with the values aligned; entries with an undefined value are left out. */
export function renderFields(fields: readonly (readonly [string, string | undefined])[]): string[] {
  const shown = fields.filter((f): f is readonly [string, string] => f[1] !== undefined);
  const width = Math.max(0, ...shown.map(([k]) => k.length + 1));
  return shown.map(([k, v]) => `${`${k}:`.padEnd(width)}  ${v}`);
}

/** How long ago `at` (ms since the epoch) was, coarsely: `45s`, `12m`, `3h`, `5d`. */
export function age(at: number, now: number = Date.now()): string {
  const s = Math.max(0, Math.floor((now - at) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172_800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

/** A timestamp for humans: ISO 8601 in UTC to the second, and how long ago. */
export function when(at: number, now: number = Date.now()): string {
  return `${new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z')} (${age(at, now)} ago)`;
}

interface Amounts {
  readonly cpu: number;
  readonly memory: number;
  readonly gpu: number;
}

/** One resource amount in its unit (`4`, `500m`; `4Gi`; `2`): cpu in millicores, memory in MiB, gpus. */
export function amount(dimension: keyof Amounts, amounts: Amounts | undefined): string {
  if (amounts === undefined || typeof amounts[dimension] !== 'number') return '-';
  return dimension === 'cpu' ? formatCpu(amounts.cpu) : dimension === 'memory' ? formatMemory(amounts.memory) : String(amounts.gpu);
}

/** Memory units, largest first, in MiB. */
const MEMORY_UNITS: readonly (readonly [string, number])[] = [
  ['Ti', 1024 * 1024],
  ['Gi', 1024],
  ['Mi', 1],
];

/** `used/total` of memory in the one unit that suits the total (`1.5Gi/32Gi`, not `1536Mi/32Gi`), to a tenth. */
function memoryUsage(used: number, total: number): string {
  const [unit, size] = MEMORY_UNITS.find(([, size]) => total >= size) ?? MEMORY_UNITS[MEMORY_UNITS.length - 1]!;
  const inUnit = (mib: number): string => String(Math.round((mib / size) * 10) / 10);
  return `${inUnit(used)}${unit}/${inUnit(total)}${unit}`;
}

/** `used/total` of one dimension; memory in one unit. */
export function usage(dimension: keyof Amounts, used: Amounts | undefined, total: Amounts | undefined): string {
  if (dimension === 'memory' && typeof used?.memory === 'number' && typeof total?.memory === 'number') return memoryUsage(used.memory, total.memory);
  return `${amount(dimension, used)}/${amount(dimension, total)}`;
}

/** A length of time for humans: `0.4s`, `12.3s`, `3m04s`, `2h03m`, `3d04h`. */
export function duration(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const whole = Math.floor(s);
  if (whole < 3600) return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s`;
  if (whole < 86_400) return `${Math.floor(whole / 3600)}h${String(Math.floor((whole % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(whole / 86_400)}d${String(Math.floor((whole % 86_400) / 3600)).padStart(2, '0')}h`;
}

/** A timestamp in a table cell: ISO 8601 in UTC to the second. */
export function stamp(at: number): string {
  return new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The rows as CSV (RFC 4180): a header line of the column headers, a cell quoted when it holds a comma, quote or line break. */
export function renderCsv<Row>(columns: readonly Column<Row>[], rows: readonly Row[]): string[] {
  const quote = (cell: string): string => (/[",\r\n]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell);
  return [columns.map((c) => quote(c.header)).join(','), ...rows.map((row) => columns.map((c) => quote(c.cell(row))).join(','))];
}
