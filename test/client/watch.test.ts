import t from 'tap';
import { Watch } from '../../src/client/index.js';
import type { JobEvent } from '../../src/client/index.js';

/** A host that counts the unwatch calls the watch makes. */
class CountingHost {
  unwatched = 0;
  unwatch(): void {
    this.unwatched++;
  }
}

function event(seq: number): JobEvent {
  return { seq, at: 1_700_000_000_000 + seq, type: 'submitted', job: `j-${seq}`, tenant: 't', queue: 'q' };
}

async function take(watch: Watch, n: number): Promise<number[]> {
  const seqs: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await watch.next();
    if (r.done) break;
    seqs.push(r.value.seq);
  }
  return seqs;
}

t.test('events come out in order, buffered or awaited; repeats and older events are dropped', async (t) => {
  const watch = new Watch(new CountingHost(), {});
  watch.started(10);
  t.equal(await watch.ready, 10);
  t.equal(watch.resumeFrom, 10, 'without from, a resubscription resumes after the newest event at the start');
  watch.push([event(9), event(11), event(12)]);
  const first = watch.next();
  t.same(await take(watch, 1), [12], 'a later next() gets the next buffered event');
  t.equal((await first).value?.seq, 11, 'the first next() got the first event buffered');
  const waiting = watch.next();
  watch.push([event(12), event(13)]);
  t.equal((await waiting).value?.seq, 13, 'a waiting reader gets the next event directly');
  t.equal(watch.lastSeq, 13);
});

t.test('events that share a seq in one frame all come out; a later frame repeating that seq is dropped', async (t) => {
  const watch = new Watch(new CountingHost(), {});
  watch.started(10);
  const placed = (job: string): JobEvent => ({ seq: 11, at: 1_700_000_000_011, type: 'placed', job, tenant: 't', queue: 'q', task: 0, attempt: 1, node: 'n' });
  watch.push([placed('a'), placed('b'), placed('c')]);
  watch.push([placed('a'), event(12)]);
  const jobs: string[] = [];
  for (let i = 0; i < 4; i++) jobs.push((await watch.next()).value!.job);
  t.same(jobs, ['a', 'b', 'c', 'j-12']);
  t.equal(watch.resumeFrom, 12);
});

t.test('from: a resubscription resumes after the newest event received, lastSeq after the newest taken', async (t) => {
  const watch = new Watch(new CountingHost(), { queue: 'q' }, { from: 5 });
  watch.started(100);
  t.equal(watch.resumeFrom, 5, 'the server seq does not override from');
  watch.push([event(5), event(6), event(7)]);
  t.equal(watch.resumeFrom, 7);
  t.equal(watch.lastSeq, 5);
  t.same(await take(watch, 1), [6]);
  t.equal(watch.lastSeq, 6);
});

t.test('a failure is thrown after the buffered events, once', async (t) => {
  const watch = new Watch(new CountingHost(), {});
  watch.started(0);
  watch.push([event(1), event(2)]);
  const gap = Object.assign(new Error('gap'), { code: 'MUSTER_ERR_WATCH_GAP' });
  watch.fail(gap);
  t.notOk(watch.active);
  t.same(await take(watch, 2), [1, 2]);
  await t.rejects(watch.next(), { code: 'MUSTER_ERR_WATCH_GAP' });
  t.same(await watch.next(), { value: undefined, done: true }, 'done after the error');
});

t.test('a failure before the server confirmed rejects ready and a waiting reader', async (t) => {
  const watch = new Watch(new CountingHost(), {});
  const waiting = watch.next();
  watch.fail(Object.assign(new Error('no'), { code: 'MUSTER_ERR_FORBIDDEN' }));
  await t.rejects(watch.ready, { code: 'MUSTER_ERR_FORBIDDEN' });
  await t.rejects(waiting, { code: 'MUSTER_ERR_FORBIDDEN' });
});

t.test('break in for await closes the watch and unwatches once', async (t) => {
  const host = new CountingHost();
  const watch = new Watch(host, {});
  watch.started(0);
  watch.push([event(1), event(2), event(3)]);
  const seen: number[] = [];
  for await (const e of watch) {
    seen.push(e.seq);
    if (e.seq === 2) break;
  }
  t.same(seen, [1, 2]);
  t.equal(host.unwatched, 1);
  watch.close();
  t.equal(host.unwatched, 1, 'closing again does nothing');
  t.same(await watch.next(), { value: undefined, done: true });
  watch.push([event(4)]);
  t.same(await watch.next(), { value: undefined, done: true }, 'events after close are ignored');
});

t.test('end() finishes a waiting reader without an error', async (t) => {
  const watch = new Watch(new CountingHost(), {});
  const waiting = watch.next();
  watch.end();
  t.same(await waiting, { value: undefined, done: true });
  await t.rejects(watch.ready, { code: 'MUSTER_ERR_CLIENT_CLOSED' });
});

t.test('a reader that falls too far behind ends the watch with MUSTER_ERR_LIMIT_EXCEEDED, after what is buffered', async (t) => {
  const host = new CountingHost();
  const watch = new Watch(host, {}, { maxBuffered: 3 });
  watch.started(0);
  watch.push([event(1), event(2), event(3)]);
  t.ok(watch.active, 'at the bound it still runs');
  watch.push([event(4)]);
  t.notOk(watch.active);
  t.equal(host.unwatched, 1, 'the subscription is ended');
  t.same(await take(watch, 4), [1, 2, 3, 4]);
  await t.rejects(watch.next(), { code: 'MUSTER_ERR_LIMIT_EXCEEDED', message: /from: 4/ });
});
