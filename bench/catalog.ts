/**
 * What each benchmark case measures and the target it is held to: the one place the README's table takes
 * descriptions and targets from (`npm run bench:table`). Targets are in the case's unit; `ratio` bounds the
 * value's ratio to another case of the same run (its baseline unless `of` names one). A case that a result
 * holds but this catalog does not still shows in the table, by id, with no target.
 *
 * The order of benchmarks here is the order of the table; cases show in the order their run recorded them.
 */
import type { Catalog, CaseEntry } from './lib/catalog-types.js';

const SIZES = ['1k', '10k', '100k'] as const;
const SHAPES = {
  uniform: 'identical 4-task jobs on identical nodes',
  mixed: 'jobs of mixed shapes, label selectors and gpus on a mixed fleet',
  gang: '16-task gangs (all or none), spread or binpack',
} as const;

/** Placement cases: backend × site size × workload (test/placement/workloads.ts). */
function placementCases(): Record<string, CaseEntry> {
  const out: Record<string, CaseEntry> = {};
  for (const size of SIZES) {
    for (const [shape, what] of Object.entries(SHAPES)) {
      const where = `${size} nodes, ${what}`;
      out[`native-${size}-${shape}`] = {
        description: `the C kernel as a Node addon; ${where}`,
        ...(size === '10k' ? { target: { atLeast: 1_000_000 } } : {}),
      };
      out[`wasm-${size}-${shape}`] = {
        description: `the C kernel as WebAssembly; ${where}`,
        ...(size === '10k' ? { target: { ratio: { atLeast: 0.6, of: `native-${size}-${shape}` } } } : {}),
      };
      out[`ts-kernel-${size}-${shape}`] = { description: `baseline: the kernel's algorithm (same table, index, searches and tie-breaks) in plain TypeScript; ${where}` };
      out[`oracle-${size}-${shape}`] = { description: `the TypeScript reference that scans every node for every task (a correctness reference, not a baseline); ${where}` };
    }
  }
  return out;
}

export const CATALOG: Catalog = {
  gateway: {
    'json-parse': { description: 'JSON.parse of the same jobs as a JSON array (a reference for decoding cost)' },
    'msgpack-unpack': { description: 'msgpackr\'s generic unpack of the same 1,000-job frames into objects, no checks (a reference for decoding cost)' },
    'per-job-frames': { description: 'decode and validate, one job per frame' },
    'decode-validate': { description: 'decode and validate 1,000-job frames into job specs', target: { atLeast: 500_000 } },
    'accept-batch-1': { description: 'jobs/s submitted and acknowledged (durable) by a real server, 1 job per frame; submit-only (no nodes)' },
    'accept-batch-100': { description: 'as accept-batch-1, 100 jobs per frame' },
    'accept-batch-1000': { description: 'as accept-batch-1, 1,000 jobs per frame', target: { atLeast: 100_000 } },
    'ack-p50': { description: 'median of submission to acknowledgement at half the accept rate' },
    'ack-p99': { description: 'p99 of submission to acknowledgement at half the accept rate', target: { atMost: 10, unit: 'ms' } },
  },
  e2e: {
    'e2e-run-1000': {
      description: 'jobs/s from submission to the job\'s end through a real server and 10,000 simulated nodes in other processes, 1,000 jobs per frame',
      target: { atLeast: 50_000 },
    },
    'e2e-run-p50': { description: 'median of submission to start, at half the e2e-run-1000 rate (open loop)' },
    'e2e-run-p99': { description: 'p99 of submission to start, at half the e2e-run-1000 rate (open loop)', target: { atMost: 50, unit: 'ms' } },
  },
  scheduler: {
    solver: { description: 'the placement solver alone on the same batches (baseline)' },
    core: {
      description: 'the whole scheduling core on a virtual clock (queues, fair share, placement, bookkeeping) with the embedded store and verification on; 10,000 nodes on 3 sites',
      target: { atLeast: 100_000, ratio: { atLeast: 0.3 } },
    },
    'core-no-store': { description: 'the core without the store and without verification (what `core` measured before; its ratio is to `core`)' },
    'core-overall': { description: 'the core over the whole run, start to drained' },
    'cycle-p50': { description: 'median scheduling cycle' },
    'cycle-p99': { description: 'p99 scheduling cycle' },
    'rss-growth': {
      description: 'resident memory after 2,000,000 one-second jobs through 1,000 nodes ÷ after 200,000 (10 s retention)',
      target: { atMost: 1.2 },
    },
    'encode-on-main-ms': { description: 'a snapshot of 1,000,000 pending jobs encoded on the main thread (baseline)' },
    'snapshot-stall-ms': {
      description: 'the main thread\'s longest pause while that snapshot is folded and written on the CPU pool',
      target: { atMost: 50, unit: 'ms', note: 'median; not every snapshot' },
    },
    'idle-stall-ms': { description: 'the longest pause with no snapshot (the floor)' },
    'snapshot-gc-max-ms': { description: 'the longest garbage collection during a snapshot' },
    'snapshot-stall-point-ms': { description: 'the pause taking the snapshot point' },
    'snapshot-stall-fold-ms': { description: 'the longest pause during the fold' },
    'snapshot-stall-adopt-ms': { description: 'the pause adopting the written snapshot' },
    'snapshot-stall-compact-ms': { description: 'the pause compacting the log' },
    'snapshot-stall-tail-ms': { description: 'the longest pause after the snapshot' },
    'snapshot-fold-s': { description: 'seconds to fold and write the snapshot' },
    'snapshot-mib': { description: 'size of the snapshot' },
  },
  placement: placementCases(),
  policy: {
    utilisation: {
      description: 'mixed workload (4 queues of 3 tenants, single tasks, arrays and gangs with time limits, 1.2× the cluster for 20 min) on 1,000 nodes on 3 sites, simulated: useful busy resource-time in the arrival window ÷ an offline upper bound for the same workload (capacity and arrivals)',
      target: { atLeast: 0.95, unit: 'ratio' },
    },
    'share-error': {
      description: 'the same run: largest gap between a queue\'s used and entitled dominant share (weighted, among queues with pending work) over one-minute windows in which it had pending work',
      target: { atMost: 5, unit: 'pp' },
    },
    'gang-wait-p99-no-reservations': { description: 'baseline: the same flood with reservations off (the core\'s `reservations` option), same run' },
    'gang-wait-p99': {
      description: 'seconds a gang of 64-256 tasks waits (p99) while another queue floods 1,000 nodes with small short jobs at 1.3× their capacity, simulated',
      target: { ratio: { atMost: 0.25, of: 'gang-wait-p99-no-reservations' } },
    },
    'reclaim-cycles': {
      description: 'dispatch cycles from a queue\'s submission to its guarantee (50 %) being met, on 1,000 nodes filled by a borrowing queue (reclaim by preemption)',
      target: { atMost: 2, unit: 'cycles' },
    },
    'preemptions-per-reclaim': {
      description: 'attempts preempted for that reclaim ÷ the tasks it needed (recorded only when the run preempted something)',
      target: { atMost: 1.1, unit: 'ratio' },
    },
  },
  store: {
    'fsync-per-append': { description: 'baseline: the same appenders and batch sizes as group-commit, one fsync per append' },
    'group-commit': { description: 'events/s appended durably by concurrent appenders, one fsync per group', target: { atLeast: 200_000 } },
    'recovery-1m': { description: 'open a store of 1,000,000 submitted jobs (256 distinct task-list forms: the best case for interning) and rebuild the state, in a fresh process as a server does at start', target: { atMost: 5, unit: 's' } },
    'recovery-1m-distinct': { description: 'as recovery-1m, every job with a distinct argument (the gateway\'s workload)', target: { atMost: 5, unit: 's' } },
    'bytes-per-pending-job': { description: 'resident memory per pending job (256 distinct task-list forms), in a fresh process', target: { atMost: 1_024, unit: 'bytes' } },
    'bytes-per-pending-job-distinct': { description: 'as bytes-per-pending-job, every job with a distinct argument (the gateway\'s workload)', target: { atMost: 1_024, unit: 'bytes' } },
    'heap-bytes-per-pending-job': { description: 'JavaScript heap per pending job (256 distinct task-list forms)' },
    'heap-bytes-per-pending-job-distinct': { description: 'JavaScript heap per pending job, every job with a distinct argument' },
    'recovery-100k': { description: 'quick runs only: recovery-1m with 100,000 jobs' },
    'recovery-100k-distinct': { description: 'quick runs only: recovery-1m-distinct with 100,000 jobs' },
  },
  actors: {
    'one-host': { description: 'messages between two actors on one host', target: { atLeast: 5_000_000 } },
    'cross-thread-unbatched': { description: 'between two worker threads, one postMessage per message (baseline)' },
    'cross-thread': { description: 'between two worker threads, batched per turn', target: { atLeast: 2_000_000, ratio: { atLeast: 5 } } },
  },
  heartbeats: {
    'ingest-multiplexed-offered': { description: 'heartbeats/s the fleet sent: 10,000 nodes multiplexed on 8 connections, every 10 ms' },
    'ingest-multiplexed': { description: 'heartbeats/s the server took in from that fleet', target: { atLeast: 100_000 } },
    'ingest-per-node-offered': { description: 'heartbeats/s offered by 2,000 agents, each on its own connection, every 100 ms' },
    'ingest-per-node': { description: 'heartbeats/s taken in from 2,000 agents, each on its own connection, every 100 ms', target: { ratio: { atLeast: 0.99 } } },
    'ingest-per-node-cpu': { description: 'the server\'s CPU while taking in ingest-per-node', target: { atMost: 0.25, unit: 'cores' } },
    'cpu-share-idle': { description: 'the server\'s CPU with an idle fleet (baseline)' },
    'cpu-share': { description: 'the server\'s CPU at about 100,000 heartbeats/s (10,000 nodes on 8 connections)', target: { atMost: 0.25, unit: 'cores' } },
    'cpu-share-rate': { description: 'the rate cpu-share was measured at' },
    detect: { description: 'seconds from a node\'s last heartbeat to it being marked lost', target: { atMost: 5, unit: 's' } },
  },
  faults: {
    'server-kills': { description: 'SIGKILLs of `muster server` under load, each restarted on its data folder', target: { atLeast: 50 } },
    'acked-lost': { description: 'acknowledged jobs missing after the last restart', target: { equals: 0 } },
    'double-runs': { description: 'tasks with two attempts alive at once (agent kills, SIGSTOPs, link cuts)', target: { equals: 0 } },
    'wrong-outcomes': { description: 'recorded outcome or exit code not the real one', target: { equals: 0 } },
    orphans: { description: 'processes left after the runs', target: { equals: 0 } },
    'restart-empty': { description: 'spawn to `/readyz` 200 on an empty data folder (baseline)' },
    'restart-p50': { description: 'spawn to `/readyz` 200 after a SIGKILL with 100,000 jobs, median', target: { atMost: 2, unit: 's' } },
    'restart-p90': { description: 'the same, p90' },
  },
  cli: {
    'node-ms': { description: '`node -e 0`: starting Node at all (baseline)' },
    'version-ms': { description: '`muster --version`, spawn to exit', target: { atMost: 300, unit: 'ms' } },
    'jobs-ms': { description: '`muster jobs`, its first page, against a server holding 100,000 jobs', target: { atMost: 500, unit: 'ms' } },
  },
  failover: {
    'failover-p50': {
      description: 'SIGKILL of the leader to the first submission acknowledged by the new one (3 replicas, 3 etcd members, lease TTL 2 s)',
      target: { atMost: 3, unit: 's' },
    },
    'failover-max': { description: 'the slowest trial', target: { atMost: 5, unit: 's' } },
    'accept-batch-1000': { description: 'jobs/s durably acknowledged on the embedded store (jobs stay pending), alternating with the next (baseline)' },
    'accept-etcd-batch-1000': { description: 'the same on one replica on a one-member etcd', target: { atLeast: 30_000, ratio: { atLeast: 0.3 } } },
  },
};
