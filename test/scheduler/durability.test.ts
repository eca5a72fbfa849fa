import t from 'tap';
import type { SchedulerEvent } from '../../src/scheduler/index.js';
import { SchedulerCore, VirtualClock } from '../../src/scheduler/index.js';
import { RecordingAgents, closeSharedSystem, job, node, sharedSystem } from '../helpers/scheduler.js';

t.teardown(closeSharedSystem);

/** A sink whose batches become durable only when the test says so. */
class GatedSink {
  readonly batches: { readonly events: readonly SchedulerEvent[]; readonly durable: () => void; readonly failed: (err: Error) => void }[] = [];
  write(events: readonly SchedulerEvent[]): Promise<void> {
    return new Promise((resolve, reject) => this.batches.push({ events, durable: resolve, failed: reject }));
  }
  /** Makes every batch written so far durable. */
  release(): void {
    for (const b of this.batches.splice(0)) b.durable();
  }
  /** Fails every batch written so far (as a store whose write or fsync failed fails every pending append). */
  fail(err: Error): void {
    for (const b of this.batches.splice(0)) b.failed(err);
  }
  kinds(): string[] {
    return this.batches.flatMap((b) => b.events.map((e) => e.kind));
  }
}


function tracked<T>(p: Promise<T>): { done: () => boolean; value: Promise<T> } {
  let done = false;
  // A request that is never acknowledged is rejected when the system shuts down: expected, not a failure.
  p.then(
    () => (done = true),
    () => undefined,
  );
  return { done: () => done, value: p };
}

t.test('acknowledgements and dispatches wait until their events are durable', async (t) => {
  const sink = new GatedSink();
  const agents = new RecordingAgents();
  const core = await SchedulerCore.create({ system: await sharedSystem(), sites: ['a'], agents, clock: new VirtualClock(0), sink });

  const joined = tracked(core.joinNode(node('n1')));
  await core.settle();
  t.same(sink.kinds(), ['NodeJoined']);
  t.notOk(joined.done(), 'a node join is not acknowledged before it is durable');
  sink.release();
  await joined.value;

  const submitted = tracked(core.submit('acme', [job(), job()]));
  await core.settle();
  t.same(sink.kinds(), ['JobSubmitted', 'JobSubmitted']);
  t.notOk(submitted.done(), 'a submission is not acknowledged before it is durable');
  sink.release();
  t.same((await submitted.value).map((r) => r.ok && r.job), ['j-1', 'j-2']);

  const report = await core.cycle();
  t.equal(report.placed, 2, 'the scheduler decides at once');
  await core.settle();
  t.same(sink.kinds(), ['TasksPlaced']);
  t.equal(agents.started.length, 0, 'no allocation reaches an agent before its placement is durable');
  sink.release();
  await core.settle();
  t.same(agents.started.map((l) => `${l.job}#${l.task}/${l.attempt}@${l.node}`), ['j-1#0/1@n1', 'j-2#0/1@n1']);
});

t.test('a failing sink: every waiting request is answered MUSTER_ERR_STORE_FAILED at once; nothing more is acknowledged or dispatched', async (t) => {
  const sink = new GatedSink();
  const agents = new RecordingAgents();
  const core = await SchedulerCore.create({ system: await sharedSystem(), sites: ['a'], agents, clock: new VirtualClock(0), sink });
  const joined = core.joinNode(node('n1'));
  await core.settle();
  sink.release();
  await joined;

  // Waiting for durability when the sink fails: a submission, a sync, a snapshot, and the allocations of a cycle.
  const submitted = tracked(core.submit('acme', [job(), job({ idempotencyKey: 'k-1' })]));
  const again = tracked(core.submit('acme', [job({ idempotencyKey: 'k-1' })]));
  const synced = tracked(core.sync().catch((err: unknown) => err));
  const snapshot = tracked(core.snapshotPoint().catch((err: unknown) => err));
  t.equal((await core.cycle()).placed, 2, 'the scheduler decides at once');
  await core.settle();
  t.notOk(submitted.done() || again.done() || synced.done() || snapshot.done(), 'nothing is answered before the sink says how the writes went');

  sink.fail(Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' }));
  // Answered, not timed out (an ask that times out rejects with MUSTER_ERR_ASK_TIMEOUT after 5 s).
  t.match(await submitted.value, [
    { ok: false, code: 'MUSTER_ERR_STORE_FAILED', message: /EIO/ },
    { ok: false, code: 'MUSTER_ERR_STORE_FAILED' },
  ], 'each job of a submission whose write failed is refused, none reported accepted');
  t.match(await again.value, [{ ok: false, code: 'MUSTER_ERR_STORE_FAILED' }], 'an idempotent resubmission of a job not yet durable is refused too, not reported as existing');
  t.match(await synced.value, { code: 'MUSTER_ERR_STORE_FAILED' }, 'a waiting sync is refused');
  t.match(await snapshot.value, { code: 'MUSTER_ERR_STORE_FAILED' }, 'a waiting snapshot is refused');
  await core.settle();
  t.equal(agents.started.length, 0, 'allocations waiting for durability are dropped, never sent');

  t.match(await core.submit('acme', [job(), job()]), [
    { ok: false, code: 'MUSTER_ERR_STORE_FAILED' },
    { ok: false, code: 'MUSTER_ERR_STORE_FAILED' },
  ], 'later submissions are refused with a code');
  await t.rejects(core.joinNode(node('n2')), { code: 'MUSTER_ERR_STORE_FAILED' });
  await t.rejects(core.sync(), { code: 'MUSTER_ERR_STORE_FAILED' }, 'a later sync is refused');
  t.equal((await core.nodeListing()).length, 1, 'queries still answer');
  t.same(sink.kinds(), [], 'nothing is written after the failure');
});

t.test('the messages of one actor-host tick go to the sink as one batch, not one batch per message', async (t) => {
  const sink = new GatedSink();
  const core = await SchedulerCore.create({ system: await sharedSystem(), sites: ['a'], agents: new RecordingAgents(), clock: new VirtualClock(0), sink });
  // Ten submissions sent in the same synchronous stretch reach the dispatcher in one tick.
  const submitted = Array.from({ length: 10 }, () => tracked(core.submit('acme', [job()])));
  await core.settle();
  t.same(sink.kinds(), Array(10).fill('JobSubmitted'), 'every event written, in order');
  t.equal(sink.batches.length, 1, 'in one batch: one append and one durable notice for the tick');
  t.notOk(submitted.some((s) => s.done()), 'none acknowledged before the batch is durable');
  sink.release();
  t.same((await Promise.all(submitted.map((s) => s.value))).map((r) => r[0]!.ok), Array(10).fill(true));
});
