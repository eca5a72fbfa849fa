/** How numbers read in the console table, the README's table and the report: the same everywhere. */

/** Thousands and above as grouped integers (`1,061,004`), tens with one decimal, smaller with 3 digits. */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US');
  if (Math.abs(n) >= 10) return n.toFixed(1);
  if (n === 0) return '0';
  return n.toPrecision(3);
}

/** A ratio: `9,388×`, `15.6×`, `0.957×`. */
export function formatRatio(r: number): string {
  return `${formatNumber(r)}×`;
}

/** A spread as stored (range ÷ median) shown as half the range around the median: `±12%`. */
export function formatSpread(spread: number): string {
  return `±${Math.round(spread * 50)}%`;
}
