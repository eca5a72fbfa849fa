export { defineBenchmark, sampleRate } from './benchmark.js';
export type { Benchmark, BenchContext, CaseInput } from './benchmark.js';
export { median, spread, quantile } from './stats.js';
export { environment } from './env.js';
export { cpuSeconds, percentOfCore } from './process-cpu.js';
export { importBuilt } from './built.js';
export { uncommitted } from './worktree.js';
