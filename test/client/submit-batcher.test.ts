import t from 'tap';
import { SubmitBatcher } from '../../src/client/submit-batcher.js';
import type { JobSpecInput, SubmitResult } from '../../src/client/wire.js';

/** A hand-driven window timer: `fire()` runs what is scheduled, as the window ending would. */
class ManualTimer {
  readonly pending = new Set<() => void>();
  readonly delays: number[] = [];
  schedule = (fn: () => void, ms: number): (() => void) => {
    this.delays.push(ms);
    this.pending.add(fn);
    return () => this.pending.delete(fn);
  };
  fire(): void {
    const fns = [...this.pending];
    this.pending.clear();
    for (const fn of fns) fn();
  }
}

/** A `send` that records each frame and answers `ok` with job ids from the specs' names, or fails. */
class FrameRecorder {
  readonly frames: { names: string[]; tenant: string | undefined }[] = [];
  failWith: Error | undefined;
  answerCount: number | undefined;
  send = async (jobs: readonly JobSpecInput[], tenant: string | undefined): Promise<readonly SubmitResult[]> => {
    this.frames.push({ names: jobs.map((j) => String(j['name'])), tenant });
    if (this.failWith) throw this.failWith;
    const results: SubmitResult[] = jobs.map((j) => ({ ok: true, job: `id-${String(j['name'])}` }));
    return this.answerCount === undefined ? results : results.slice(0, this.answerCount);
  };
}

const jobs = (...names: string[]): JobSpecInput[] => names.map((name) => ({ name }));
const ids = (results: readonly SubmitResult[]): string[] => results.map((r) => (r.ok ? r.job : r.code));

t.test('calls within one window share a frame; each gets its own results in order', async (t) => {
  const timer = new ManualTimer();
  const frames = new FrameRecorder();
  const batcher = new SubmitBatcher({ maxJobs: 10, windowMs: 3, send: frames.send, schedule: timer.schedule });
  const a = batcher.add(jobs('a1', 'a2'));
  const b = batcher.add(jobs('b1'));
  t.equal(frames.frames.length, 0, 'nothing is sent before the window ends');
  t.same(timer.delays, [3], 'one window for the open frame');
  timer.fire();
  t.same(ids(await a), ['id-a1', 'id-a2']);
  t.same(ids(await b), ['id-b1']);
  t.same(frames.frames, [{ names: ['a1', 'a2', 'b1'], tenant: undefined }]);
});

t.test('a full frame goes at once; a call bigger than a frame is split and reassembled', async (t) => {
  const timer = new ManualTimer();
  const frames = new FrameRecorder();
  const batcher = new SubmitBatcher({ maxJobs: 3, windowMs: 5, send: frames.send, schedule: timer.schedule });
  const first = batcher.add(jobs('x'));
  const big = batcher.add(jobs('1', '2', '3', '4', '5', '6', '7'));
  t.same(
    frames.frames.map((f) => f.names),
    [
      ['x', '1', '2'],
      ['3', '4', '5'],
    ],
    'the full frames left without waiting',
  );
  t.equal(timer.pending.size, 1, 'only the partial frame waits for its window');
  timer.fire();
  t.same(frames.frames.at(-1)?.names, ['6', '7']);
  t.same(ids(await first), ['id-x']);
  t.same(ids(await big), ['id-1', 'id-2', 'id-3', 'id-4', 'id-5', 'id-6', 'id-7']);
});

t.test('frames carry one tenant each', async (t) => {
  const timer = new ManualTimer();
  const frames = new FrameRecorder();
  const batcher = new SubmitBatcher({ maxJobs: 10, send: frames.send, schedule: timer.schedule });
  const own = batcher.add(jobs('o'));
  const acme = batcher.add(jobs('a'), 'acme');
  timer.fire();
  await Promise.all([own, acme]);
  t.same(
    frames.frames.sort((x, y) => String(x.tenant).localeCompare(String(y.tenant))),
    [
      { names: ['a'], tenant: 'acme' },
      { names: ['o'], tenant: undefined },
    ],
  );
});

t.test('a failed frame fails every call with a part in it, once', async (t) => {
  const timer = new ManualTimer();
  const frames = new FrameRecorder();
  const batcher = new SubmitBatcher({ maxJobs: 2, send: frames.send, schedule: timer.schedule });
  frames.failWith = new Error('lost');
  const a = batcher.add(jobs('1', '2', '3'));
  const b = batcher.add(jobs('4'));
  timer.fire();
  await t.rejects(a, { message: 'lost' });
  await t.rejects(b, { message: 'lost' });
  t.equal(frames.frames.length, 2);
});

t.test('a reply with the wrong number of results fails the calls instead of misrouting them', async (t) => {
  const timer = new ManualTimer();
  const frames = new FrameRecorder();
  frames.answerCount = 1;
  const batcher = new SubmitBatcher({ maxJobs: 10, send: frames.send, schedule: timer.schedule });
  const a = batcher.add(jobs('1', '2'));
  timer.fire();
  await t.rejects(a, { code: 'MUSTER_ERR_INTERNAL', message: /1 results for 2 jobs/ });
});

t.test('flushAll sends open frames now; an empty call resolves at once; maxJobs must be positive', async (t) => {
  const timer = new ManualTimer();
  const frames = new FrameRecorder();
  const batcher = new SubmitBatcher({ maxJobs: 10, send: frames.send, schedule: timer.schedule });
  t.same(await batcher.add([]), []);
  const a = batcher.add(jobs('1'));
  batcher.flushAll();
  t.equal(timer.pending.size, 0, 'the window timer was cancelled');
  t.same(ids(await a), ['id-1']);
  t.throws(() => new SubmitBatcher({ maxJobs: 0, send: frames.send }), RangeError);
});

t.test('with the real timers, window 0 gathers the calls of one turn', async (t) => {
  const frames = new FrameRecorder();
  const batcher = new SubmitBatcher({ maxJobs: 100, windowMs: 0, send: frames.send });
  const calls = Array.from({ length: 20 }, (_, i) => batcher.add(jobs(String(i))));
  const results = await Promise.all(calls);
  t.equal(frames.frames.length, 1);
  t.same(results.map(ids), Array.from({ length: 20 }, (_, i) => [`id-${i}`]));
});
