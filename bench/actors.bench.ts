/**
 * Actor message throughput (DESIGN.md §9: ≥ 5 M msgs/s on one host, ≥ 2 M msgs/s across threads).
 *
 * Every case streams numbered messages from a source to a sink under credit-based flow control (the
 * workload in test/actors/fixtures/traffic.ts, also used by the FIFO tests) and checks that every message
 * arrived, in order, before its rate is recorded.
 *
 * - `one-host`: source and sink actors on the main thread's host;
 * - `cross-thread-unbatched`: the baseline, a bare worker and one raw `postMessage` per message;
 * - `cross-thread`: source on the main host, sink on a worker host, through the runtime's per-turn batches.
 */
import { once } from 'node:events';
import { MessageChannel, Worker } from 'node:worker_threads';
import { createActorSystem, defaultWorkerCount, MAX_BATCH_MESSAGES, producer, siblingModule, workerEntry } from '../src/actors/index.js';
import type { ActorRef } from '../src/actors/index.js';
import { createLogger } from '../src/log/index.js';
import type { makeSink, makeSource, SinkMsg, SourceMsg, StreamReport } from '../test/actors/fixtures/traffic.js';
import { defineBenchmark, sampleRate, RUNNER } from './lib/index.js';

const traffic = siblingModule(import.meta.url, '../test/actors/fixtures/traffic');
const rawSink = siblingModule(import.meta.url, '../test/actors/fixtures/raw-sink');
const source = producer<typeof makeSource>(traffic, 'makeSource');
const sink = producer<typeof makeSink>(traffic, 'makeSink');

/** Credit granted per `CREDIT` messages received; `WINDOW` messages may be in flight (enough to cover a round trip). */
const CREDIT = 4096;
const WINDOW = 8 * CREDIT;

function check(report: StreamReport, total: number, id: string): void {
  if (report.received !== total || report.outOfOrder !== 0) {
    throw new Error(`${id}: expected ${total} messages in order, got ${report.received} with ${report.outOfOrder} out of order`);
  }
}

export default defineBenchmark({
  name: 'actors',
  measures: ['src/actors', 'src/log', 'src/errors', 'test/actors/fixtures', 'bench/actors.bench.ts', ...RUNNER],
  async run(ctx) {
    const quick = ctx.quick;
    const runs = { warmup: quick ? 1 : 3, samples: quick ? 3 : 7 };
    const totals = { oneHost: quick ? 500_000 : 2_000_000, crossThread: quick ? 300_000 : 2_000_000, unbatched: quick ? 50_000 : 300_000 };
    ctx.config({ ...runs, totals, credit: CREDIT, window: WINDOW, maxBatchMessages: MAX_BATCH_MESSAGES, workers: 1 });
    ctx.env({ defaultWorkers: defaultWorkerCount() });

    const system = await createActorSystem({ workers: 1, log: createLogger({ name: 'bench-actors', level: 'warn' }), logLevel: 'warn' });
    try {
      // Actors are spawned once per case; each sample re-arms the sink with `expect`.
      const stream = async (sinkRef: ActorRef<SinkMsg>, sourceRef: ActorRef<SourceMsg>, total: number, id: string): Promise<number> => {
        const done = system.ask<StreamReport, SinkMsg>(sinkRef, (replyTo) => ({ kind: 'expect', total, credit: CREDIT, source: sourceRef, replyTo }), 120_000);
        system.tell(sourceRef, { kind: 'run', total, window: WINDOW });
        check(await done, total, id);
        return total;
      };

      {
        const sinkRef = await system.spawn(0, sink, {});
        const sourceRef = await system.spawn(0, source, { sink: sinkRef });
        ctx.record({ id: 'one-host', unit: 'msgs/s', samples: await sampleRate(runs, () => stream(sinkRef, sourceRef, totals.oneHost, 'one-host')) });
      }

      ctx.record({ id: 'cross-thread-unbatched', unit: 'msgs/s', samples: await sampleRate(runs, () => rawStream(totals.unbatched)) });

      {
        const sinkRef = await system.spawn(1, sink, {});
        const sourceRef = await system.spawn(0, source, { sink: sinkRef });
        ctx.record({
          id: 'cross-thread',
          unit: 'msgs/s',
          baseline: 'cross-thread-unbatched',
          samples: await sampleRate(runs, () => stream(sinkRef, sourceRef, totals.crossThread, 'cross-thread')),
        });
      }
    } finally {
      await system.shutdown();
      await closeRaw();
    }
  },
});

// ---------------------------------------------------------------- the unbatched baseline

let raw: { worker: Worker; port: import('node:worker_threads').MessagePort } | undefined;

async function rawStream(total: number): Promise<number> {
  if (raw === undefined) {
    const worker = new Worker(workerEntry(rawSink));
    const { port1, port2 } = new MessageChannel();
    worker.postMessage(port2, [port2]);
    raw = { worker, port: port1 };
  }
  const port = raw.port;
  port.postMessage({ kind: 'expect', total, credit: CREDIT });
  let seq = 0;
  const send = (n: number): void => {
    const end = Math.min(total, seq + n);
    while (seq < end) port.postMessage({ kind: 'data', seq: seq++ });
  };
  const finished = new Promise<StreamReport>((resolve) => {
    const onMessage = (m: { kind: 'credit'; n: number } | { kind: 'done'; received: number; outOfOrder: number }): void => {
      if (m.kind === 'credit') send(m.n);
      else {
        port.off('message', onMessage);
        resolve(m);
      }
    };
    port.on('message', onMessage);
  });
  send(WINDOW);
  check(await finished, total, 'cross-thread-unbatched');
  return total;
}

async function closeRaw(): Promise<void> {
  if (raw === undefined) return;
  raw.port.close();
  const exited = once(raw.worker, 'exit');
  await raw.worker.terminate();
  await exited;
  raw = undefined;
}
