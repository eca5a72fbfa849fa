/**
 * The gateway's pieces without sockets: the frame scan, the policy table, the rate limiter, the watch hub.
 */
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import t from 'tap';
import { AgentLink } from '../../src/api/agent-hub.js';
import { fromThrown, httpStatus } from '../../src/api/api-error.js';
import { MusterError } from '../../src/errors/index.js';
import { scanFrame } from '../../src/api/frame-scan.js';
import { isNodeGlob, nodeMatcher } from '../../src/api/node-globs.js';
import type { Principal } from '../../src/api/index.js';
import { RateLimiter, allows, decodeFrame, seesTenant } from '../../src/api/index.js';
import { WatchHub } from '../../src/api/watch-hub.js';
import type { SchedulerEvent } from '../../src/scheduler/index.js';
import { jobSpec } from './helpers.js';

const packr = new Packr({ useRecords: false });

t.test('frame scan: measures each job of a submit exactly', async (t) => {
  const jobs = [jobSpec(), jobSpec({ name: 'x'.repeat(300) }), jobSpec({ tasks: [{ resources: { cpu: 1, memory: 2 }, command: ['a', 'b'], env: { A: 'b' } }] })];
  const frame = packr.pack({ kind: 'submit', id: 1, jobs });
  const scan = scanFrame(frame, 32, true);
  t.equal(scan.error, undefined);
  t.same(scan.jobSizes, jobs.map((j) => packr.pack(j).length));
});

t.test('frame scan: accepts every plain msgpack value msgpackr writes, and agrees with its decoder', async (t) => {
  const plain = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.string(),
      fc.integer(),
      fc.double({ noNaN: true }),
      fc.boolean(),
      fc.constant(null),
      fc.uint8Array({ maxLength: 300 }),
      fc.array(tie('value'), { maxLength: 20 }),
      fc.dictionary(fc.string({ maxLength: 10 }), tie('value'), { maxKeys: 20 }),
    ),
  }));
  fc.assert(
    fc.property(fc.dictionary(fc.string({ maxLength: 10 }), plain.value), (map) => {
      const bytes = packr.pack({ ...map, kind: 'x' });
      return scanFrame(bytes, 64, true).error === undefined && decodeFrame(bytes, true).ok;
    }),
    { numRuns: 300 },
  );
});

t.test('frame scan: refuses what the protocol excludes', async (t) => {
  const cases: [string, number[]][] = [
    ['empty', []],
    ['truncated string', [0x81, 0xa4, 0x6b, 0x69]],
    ['array count past the bytes', [0x81, 0xa1, 0x61, 0xdd, 0xff, 0xff, 0xff, 0xff]],
    ['extension (fixext 1)', [0x81, 0xa1, 0x61, 0xd4, 0x01, 0x00]],
    ['extension (ext 8)', [0x81, 0xa1, 0x61, 0xc7, 0x01, 0x05, 0x00]],
    ['0xc1', [0xc1]],
    ['integer key', [0x81, 0x01, 0x02]],
    ['trailing byte', [0x80, 0x00]],
  ];
  for (const [name, bytes] of cases) t.type(scanFrame(Uint8Array.from(bytes), 32, true).error, 'string', name);
  const deep = packr.pack({ kind: 'x', a: JSON.parse('['.repeat(40) + ']'.repeat(40)) });
  t.match(scanFrame(deep, 32, false).error, /nested deeper than 32/);
});

t.test('policy: default deny, one table', async (t) => {
  const table: [Principal['role'], string[]][] = [
    ['admin', ['submit', 'cancel', 'watch', 'read-jobs', 'read-cluster', 'metrics', 'agent']],
    ['submitter', ['submit', 'cancel', 'watch', 'read-jobs', 'read-cluster']],
    ['viewer', ['watch', 'read-jobs', 'read-cluster', 'metrics']],
    ['agent', ['agent']],
  ];
  const actions = ['submit', 'cancel', 'watch', 'read-jobs', 'read-cluster', 'metrics', 'agent'] as const;
  for (const [role, granted] of table) {
    for (const action of actions) t.equal(allows({ tenant: 'x', role }, action), granted.includes(action), `${role} ${action}`);
  }
  t.ok(seesTenant({ tenant: 'a', role: 'submitter' }, 'a'));
  t.notOk(seesTenant({ tenant: 'a', role: 'submitter' }, 'b'));
  t.ok(seesTenant({ tenant: 'a', role: 'viewer' }, 'b'));
});

t.test('rate limiter: burst, refill, per tenant, and how long to wait', async (t) => {
  let now = 0;
  const rate = new RateLimiter(10, 5, () => now);
  for (let i = 0; i < 5; i++) t.ok(rate.take('a', 1).ok);
  const refused = rate.take('a', 1);
  t.same(refused, { ok: false, retryAfterMs: 100 }, 'one token refills in 100 ms at 10/s');
  t.ok(rate.take('b', 1).ok, 'tenants have their own buckets');
  now = 100;
  t.ok(rate.take('a', 1).ok);
  now = 10_000;
  t.ok(rate.take('a', 50).ok, 'a cost above the burst is charged as the burst');
  t.notOk(rate.take('a', 0.5).ok);
});

function submitted(job: string, tenant: string, queue: string): SchedulerEvent {
  return { kind: 'JobSubmitted', at: 1, job, tenant, spec: { queue } as never };
}

t.test('watch hub: filters, window, resume, gaps, trailing events after a job ends', async (t) => {
  const hub = new WatchHub({ window: 4, recentlyEnded: 1, lastSeq: 10 });
  hub.seed([{ id: 'old', tenant: 'acme', queue: 'q' }]);
  const acme: Principal = { tenant: 'acme', role: 'submitter' };
  const got: string[] = [];
  const sub = hub.subscribe(acme, {}, undefined, (events) => got.push(...events.map((e) => `${e.seq}:${e.job}:${e.type}`)));
  t.ok(sub.ok);
  hub.publish([submitted('j1', 'acme', 'q'), submitted('j2', 'globex', 'q'), { kind: 'JobCancelRequested', at: 2, job: 'old' }], 11);
  hub.publish([{ kind: 'TasksPlaced', at: 3, epoch: 1, placements: [{ job: 'j1', task: 0, attempt: 1, node: 'n' }, { job: 'j2', task: 0, attempt: 1, node: 'n' }, { job: 'j1', task: 1, attempt: 1, node: 'n' }] }], 14);
  t.same(got, ['11:j1:submitted', '13:old:cancel-requested', '14:j1:placed', '14:j1:placed'], 'only its tenant; a placement cycle shares one seq');
  t.equal(hub.newest, 14);

  // The window holds 4 events: 6 were published, so the oldest whole seqs go (11 and 12).
  t.equal(hub.floor, 12);
  t.same(hub.subscribe(acme, {}, 11, () => undefined), { ok: false, oldest: 12 }, 'too old: a gap');
  const resumed = hub.subscribe(acme, {}, 13, () => undefined);
  t.same(resumed.ok && resumed.replay.map((e) => `${e.seq}:${e.job}`), ['14:j1', '14:j1'], 'resume replays what came after from, for this tenant');

  // Eviction never splits a seq: with room for one more event, the three of seq 14 go together.
  const tight = new WatchHub({ window: 2, recentlyEnded: 10, lastSeq: 0 });
  tight.publish([submitted('a', 't', 'q')], 1);
  tight.publish([{ kind: 'TasksPlaced', at: 3, epoch: 1, placements: [0, 1, 2].map((task) => ({ job: 'a', task, attempt: 1, node: 'n' })) }], 2);
  t.equal(tight.floor, 2, 'seq 2 could not be kept whole, so it went whole');
  t.equal(tight.windowSize, 0);

  // Owners of ended jobs are kept for `recentlyEnded` jobs, then forgotten.
  hub.publish([{ kind: 'JobEnded', at: 4, job: 'j1', outcome: 'succeeded' }, { kind: 'JobEnded', at: 4, job: 'old', outcome: 'cancelled' }], 15);
  hub.publish([{ kind: 'TaskEnded', at: 5, job: 'old', task: 0, attempt: 1, node: 'n', outcome: 'killed' }, { kind: 'TaskEnded', at: 5, job: 'j1', task: 0, attempt: 1, node: 'n', outcome: 'killed' }], 17);
  t.same(got.slice(4), ['15:j1:ended', '16:old:ended', '17:old:task-ended'], 'the most recently ended job is still attributed');
  t.equal(hub.dropped, 1, 'the forgotten one is dropped, not shown to anyone');
});

t.test('watch hub: a watcher that connects after jobs were submitted with nobody watching gets their later events, each to its owner', async (t) => {
  const hub = new WatchHub({ window: 100, recentlyEnded: 10, lastSeq: 0 });
  t.equal(hub.watches, 0);
  // Owners alternate within and across batches (the hub remembers the last owner; the others are looked up).
  hub.publish([submitted('j1', 'acme', 'q'), submitted('j2', 'globex', 'q'), submitted('j3', 'acme', 'r'), submitted('j4', 'acme', 'q')], 1);
  hub.publish([submitted('j5', 'globex', 'q'), submitted('j6', 'acme', 'q')], 5);
  const acme: string[] = [];
  const globex: string[] = [];
  const fromStart = hub.subscribe({ tenant: 'acme', role: 'submitter' }, { queue: 'q' }, 0, (events) => acme.push(...events.map((e) => `${e.job}:${e.type}:${e.queue}`)));
  t.same(fromStart.ok && fromStart.replay.map((e) => e.job), ['j1', 'j4', 'j6'], 'a resume from before it connected replays its own submissions');
  hub.subscribe({ tenant: 'globex', role: 'submitter' }, {}, undefined, (events) => globex.push(...events.map((e) => `${e.job}:${e.type}:${e.tenant}`)));
  const placements = ['j1', 'j2', 'j3', 'j4', 'j5', 'j6'].map((job) => ({ job, task: 0, attempt: 1, node: 'n' }));
  hub.publish([{ kind: 'TasksPlaced', at: 3, epoch: 1, placements }], 7);
  t.same(acme, ['j1:placed:q', 'j4:placed:q', 'j6:placed:q'], 'its tenant and queue only');
  t.same(globex, ['j2:placed:globex', 'j5:placed:globex']);
  t.equal(hub.dropped, 0, 'every event attributed');
});

t.test('an agent link holds a registering node\'s frames, and drops those about attempts the registration ended, then and later', async (t) => {
  const sent: unknown[] = [];
  const link = new AgentLink((frame) => sent.push(frame));
  const start = (attempt: number): Record<string, unknown> => ({ kind: 'start', node: 'n', job: 'j-1', task: 0, attempt });
  link.hold('n');
  link.push(start(1), 'n');
  link.push(start(2), 'n');
  t.same([...link.heldStarts('n')], ['j-1#0#1', 'j-1#0#2'], 'starts on their way are known');
  link.release('n', { kind: 'registered', node: 'n' }, new Set(['j-1#0#1']));
  link.push({ kind: 'kill', node: 'n', job: 'j-1', task: 0, attempt: 1, reason: 'cancel' }, 'n');
  link.push({ kind: 'kill', node: 'n', job: 'j-1', task: 0, attempt: 2, reason: 'cancel' }, 'n');
  link.flush();
  t.same(sent, [{ kind: 'batch', frames: [{ kind: 'registered', node: 'n' }, start(2), { kind: 'kill', node: 'n', job: 'j-1', task: 0, attempt: 2, reason: 'cancel' }] }], 'the reply first; nothing about the ended attempt, then or later');
});

t.test('node globs: exact names and * runs, anchored', async (t) => {
  const may = nodeMatcher(['gpu-*', 'db-1', '*-edge']);
  t.ok(may('gpu-1'));
  t.ok(may('gpu-'));
  t.ok(may('db-1'));
  t.ok(may('rack-3-edge'));
  t.notOk(may('old-gpu-1'), 'anchored at the start');
  t.notOk(may('db-10'), 'an exact name is exact');
  t.notOk(may('edge-1'));
  t.ok(nodeMatcher(['*'])('anything-at-all'));
  t.ok(isNodeGlob('gpu-*'));
  t.notOk(isNodeGlob('gpu.*'), 'a regular expression is not a glob');
  t.notOk(isNodeGlob(''));
});

t.test('the server\'s own machinery failing to answer in time reaches a client as MUSTER_ERR_BUSY, never as itself', async (t) => {
  for (const code of ['MUSTER_ERR_ASK_TIMEOUT', 'MUSTER_ERR_MAILBOX_FULL', 'MUSTER_ERR_ACTOR_STOPPED', 'MUSTER_ERR_ACTOR_HOST_DIED'] as const) {
    t.match(fromThrown(new MusterError(code, 'no reply from 0/1 within 5000 ms')), { code: 'MUSTER_ERR_BUSY', retryAfterMs: Number }, code);
  }
  t.match(fromThrown(new MusterError('MUSTER_ERR_UNKNOWN_JOB', 'no such job')), { code: 'MUSTER_ERR_UNKNOWN_JOB' }, 'a client-facing code stays itself');
  t.match(fromThrown(new Error('a bug')), { code: 'MUSTER_ERR_INTERNAL' });
  t.equal(httpStatus('MUSTER_ERR_BUSY'), 503);
});
