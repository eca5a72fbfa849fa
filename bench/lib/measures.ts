/**
 * Paths that many benchmarks' `measures` share (git pathspecs from the repository's root). A benchmark
 * lists these plus its own files; see `Benchmark.measures`.
 */

/** What a `muster server` (or `muster sim`, `muster agent`) process runs: all of src/, the bin, both kernels. */
export const MUSTER_PROCESS: readonly string[] = ['src', 'bin', 'native', 'wasm'];

/** The runner's parts that take and reduce samples (not the table, profile and report tooling). */
export const RUNNER: readonly string[] = [
  'bench/run.ts',
  'bench/lib/benchmark.ts',
  'bench/lib/stats.ts',
  'bench/lib/report.ts',
  'bench/lib/fresh-process.ts',
  'bench/lib/process-cpu.ts',
  'bench/lib/built.ts',
];
