import t from 'tap';
import type { SchedulerEvent } from '../../src/scheduler/index.js';
import { SchedulerCore, VirtualClock } from '../../src/scheduler/index.js';
import { RecordingAgents, closeSharedSystem, job, node, sharedSystem } from '../helpers/scheduler.js';

t.teardown(closeSharedSystem);

/** A sink whose batches become durable only when the test says so. */
class GatedSink {
  readonly batches: { readonly events: readonly SchedulerEvent[]; readonly durable: () => void }[] = [];
  write(events: readonly SchedulerEvent[]): Promise<void> {
    return new Promise((resolve) => this.batches.push({ events, durable: resolve }));
  }
  /** Makes every batch written so far durable. */
  release(): void {
    for (const b of this.batches.splice(0)) b.durable();
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

t.test('a failing sink: nothing more is acknowledged or dispatched', async (t) => {
  const agents = new RecordingAgents();
  let fail = false;
  const sink = { write: () => (fail ? Promise.reject(new Error('disk full')) : undefined) };
  const core = await SchedulerCore.create({ system: await sharedSystem(), sites: ['a'], agents, clock: new VirtualClock(0), sink });
  await core.joinNode(node('n1'));
  fail = true;
  const submitted = tracked(core.submit('acme', [job()]));
  await core.settle();
  await core.cycle();
  await core.settle();
  t.notOk(submitted.done(), 'the submission whose write failed is never acknowledged');
  t.equal(agents.started.length, 0, 'nothing is dispatched');
  t.match(await core.submit('acme', [job(), job()]), [
    { ok: false, code: 'MUSTER_ERR_STORE_FAILED' },
    { ok: false, code: 'MUSTER_ERR_STORE_FAILED' },
  ], 'later submissions are refused with a code');
  await t.rejects(core.joinNode(node('n2')), { code: 'MUSTER_ERR_STORE_FAILED' });
});
