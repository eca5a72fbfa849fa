/**
 * Records a small history for real: the scheduling core runs a script in simulated time and every event it
 * emits goes through `storeSink` into an embedded store in a data folder, with a snapshot and a compaction
 * half-way (so replay reads archived segments as well as live ones).
 *
 * The story: site a, four nodes of 4 cpus. At 0 s, four light jobs of queue alpha (1 cpu, 20 s) — binpack
 * puts them on one node, spread on four. At 30 s, 150 jobs each in queues alpha and beta (weight 1 each,
 * 1 cpu, 2–6 s) saturate the 16 cpus; the recording stops at 80 s with both queues still backlogged, so
 * their shares depend on their weights. On the way: a job whose first attempt fails and retries, a cancel,
 * and node n3 draining at 60 s.
 */
import { createLogger } from '../../src/log/index.js';
import type { SimJob, SimScript } from '../../src/scheduler/index.js';
import { foldSnapshot, Simulation, storeSink } from '../../src/scheduler/index.js';
import { openEmbeddedStore } from '../../src/store/index.js';
import { job, node, queue, sharedSystem } from '../helpers/scheduler.js';

export const RECORDED_UNTIL = 80_000;
const COMPACT_AT = 55_000;

function script(): SimScript {
  const light: SimJob[] = Array.from({ length: 4 }, () => ({ at: 0, tenant: 'acme', spec: job({ queue: 'alpha' }), durationMs: 20_000 }));
  const heavy: SimJob[] = [];
  for (let i = 0; i < 150; i++) {
    for (const q of ['alpha', 'beta']) heavy.push({ at: 30_000, tenant: q === 'alpha' ? 'acme' : 'globex', spec: job({ queue: q }), durationMs: 2000 + ((i * 7919) % 4001) });
  }
  const retried: SimJob = {
    at: 31_000,
    tenant: 'globex',
    spec: job({ queue: 'beta', retries: { max: 1, backoff: '1s' } }),
    behaviour: (_task, attempt) => (attempt === 1 ? { durationMs: 1500, outcome: 'failed', exitCode: 3 } : { durationMs: 2500, outcome: 'succeeded' }),
  };
  return {
    sites: ['a'],
    queues: [queue({ name: 'alpha', tenant: 'acme' }), queue({ name: 'beta', tenant: 'globex' })],
    nodes: ['n0', 'n1', 'n2', 'n3'].map((name) => ({ spec: node(name, 'a', { cpu: '4', memory: '16Gi' }) })),
    nodeStates: [{ at: 60_000, node: 'n3', state: 'draining' }],
    jobs: [...light, retried, ...heavy],
    cancels: [{ at: 45_000, job: light.length + 1 + 299 }],
  };
}

export interface RecordOptions {
  readonly historyBytes?: number;
}

/** Records the story into the data folder `dir`; resolves once every event is durable and the store closed. */
export async function recordHistory(dir: string, options: RecordOptions = {}): Promise<{ events: number }> {
  const store = await openEmbeddedStore({
    dir,
    segmentBytes: 16 * 1024,
    logger: createLogger({ name: 'store', level: 'silent' }),
    ...(options.historyBytes !== undefined ? { historyBytes: options.historyBytes } : {}),
  });
  try {
    const { epoch } = await store.recover();
    const sink = storeSink(store, epoch);
    const writes: Promise<void>[] = [];
    let events = 0;
    const sim = await Simulation.create({
      script: script(),
      system: await sharedSystem(),
      onEvent: (e) => {
        events++;
        const written = sink.write([e], events);
        if (written) writes.push(written);
      },
    });
    await sim.run(COMPACT_AT);
    await Promise.all(writes);
    // Every event so far is durable: the snapshot stands at the last one, folded from the folder.
    await store.writeSnapshot(events, await foldSnapshot({ dir, seq: events }));
    await store.compact();
    await sim.run(RECORDED_UNTIL);
    await Promise.all(writes);
    await sim.close();
    return { events };
  } finally {
    await store.close();
  }
}
