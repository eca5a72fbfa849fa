/**
 * The one-pass job reader (src/api/job-reader.ts) against the reference, `validateJob` of the job as the
 * whole frame decodes it (msgpackr, the gateway's options). For every input, random valid jobs and
 * adversarial ones (wrong types, unknown fields, values out of range, huge and non-ASCII strings, nested
 * junk, 64-bit and float numbers, repeated keys): the submit path gives what the reference gives — the
 * same spec, deep-equal, or the same refusal with the same problems (codes and field paths) — and
 * whenever the fast path accepts a job on its own, the reference accepts it with an equal spec.
 */
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { Packr, Unpackr } from 'msgpackr';
import t from 'tap';
import { decodeFrame, DEFAULT_LIMITS, isPrepared, prepareSubmit, RateLimiter, readClientRequest } from '../../src/api/index.js';
import { scanFrame } from '../../src/api/frame-scan.js';
import { RawJob, readRawJob } from '../../src/api/job-reader.js';
import { MAX_FRAME_DEPTH } from '../../src/api/limits.js';
import type { PreparedSubmit } from '../../src/api/submissions.js';
import { validateJob } from '../../src/model/index.js';
import { writtenJobs } from '../../bench/workloads/submit-batches.js';

const packr = new Packr({ useRecords: false, variableMapSize: true });
/** The gateway's decoder before the one-pass reader (src/api/codec.ts): the reference's input. */
const reference = new Unpackr({ useRecords: false, mapsAsObjects: true, copyBuffers: true, int64AsType: 'number' });
const principal = { tenant: 'acme', role: 'submitter' } as const;
const rate = new RateLimiter(1e15, 1e15);

type Outcome = { ok: true; spec: unknown } | { ok: false; code: string; problems: unknown };

/**
 * What the reference says of the job in `frame` (a submit frame's bytes with one job): the job as the
 * whole frame decodes, through the same submit step (its size check, then `validateJob`).
 */
function referenceOutcome(frame: Uint8Array): Outcome {
  const decoded = reference.unpack(frame) as { jobs: unknown[] };
  const sizes = scanFrame(frame, MAX_FRAME_DEPTH, frame.length > DEFAULT_LIMITS.maxSpecBytes).jobSizes;
  const prepared = prepareSubmit(principal, { jobs: decoded.jobs }, sizes, DEFAULT_LIMITS, rate);
  if (!isPrepared(prepared)) throw new Error(prepared.message);
  return outcome(prepared);
}

function outcome(prepared: PreparedSubmit): Outcome {
  const result = prepared.results[0];
  if (result === undefined) return { ok: true, spec: prepared.specs[0] };
  if (result.ok) throw new Error('an accepted job has a result before the core');
  return { ok: false, code: result.code, problems: result.problems };
}

/** What the gateway's submit path says of it now. */
function gatewayOutcome(frame: Uint8Array): Outcome {
  const decoded = decodeFrame(frame, frame.length > DEFAULT_LIMITS.maxSpecBytes);
  if (!decoded.ok) throw new Error(decoded.error.message);
  const read = readClientRequest(decoded.frame, DEFAULT_LIMITS);
  if (!read.ok || read.request.kind !== 'submit') throw new Error('not a submit');
  const prepared = prepareSubmit(principal, read.request, decoded.jobSizes, DEFAULT_LIMITS, rate);
  if (!isPrepared(prepared)) throw new Error(prepared.message);
  return outcome(prepared);
}

/** The fast path alone on the frame's job: its spec, or undefined when it leaves the job to the reference. */
function fastOnly(frame: Uint8Array): unknown {
  const decoded = decodeFrame(frame, false);
  if (!decoded.ok) throw new Error(decoded.error.message);
  const job = (decoded.frame['jobs'] as unknown[])[0];
  if (!(job instanceof RawJob)) throw new Error('a submit frame keeps its jobs as bytes');
  return readRawJob(job);
}

let fastAccepted = 0;
let checked = 0;

/** The property, on one frame: the gateway agrees with the reference; a fast acceptance is the reference's. */
function agrees(frame: Uint8Array): boolean {
  checked++;
  const want = referenceOutcome(frame);
  const got = gatewayOutcome(frame);
  const fast = fastOnly(frame);
  if (fast !== undefined) {
    fastAccepted++;
    // The reference on the job alone (no size check: a job the fast path reads is within every bound).
    const alone = validateJob((reference.unpack(frame) as { jobs: unknown[] }).jobs[0]);
    if (!alone.ok || !isDeepStrictEqual(fast, alone.value)) return false;
  }
  return isDeepStrictEqual(got, want);
}

const submit = (job: unknown): Uint8Array => packr.pack({ kind: 'submit', id: 1, jobs: [job] });

// ---------------------------------------------------------------- random jobs, valid and otherwise

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
const queueName = fc.oneof(label, fc.tuple(label, label).map(([a, b]) => `${a}/${b}`));
const cpu = fc.oneof(fc.constantFrom('250m', '500m', '1', '2', '0.5', '1500m', '0', '-1', 'lots', '1e3'), fc.double({ min: -2, max: 64 }), fc.integer({ min: -5, max: 5000 }));
const memory = fc.oneof(fc.constantFrom('256Mi', '1Gi', '2G', '100', '1.5Gi', '10Ti', 'x', ''), fc.integer({ min: -1, max: 2 ** 34 }), fc.double());
const duration = fc.oneof(fc.constantFrom('30s', '5m', '1h30m', '500ms', '0s', '0', 'soon', ' '), fc.integer({ min: -1, max: 10_000 }), fc.double());
const word = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('/bin/sh', 'python3', '--x=1', '  ', ''), fc.string({ unit: 'grapheme', maxLength: 6 }));
const junk = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.constantFrom(2 ** 40, -(2 ** 40), 2 ** 63, 0.5, -0, NaN, Infinity),
  fc.string({ maxLength: 8 }),
  fc.constantFrom('x'.repeat(70_000), 'é', 'job-é', '\u0000'),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 3, noNullPrototype: true }),
  fc.constant({ a: { b: { c: [1, { d: null }] } } }),
);

/** Values on each side of the model's bounds (names 63, keys 128, paths 4095, commands 65,536, counts, priorities). */
const edge = fc.constantFrom(
  'a'.repeat(63), 'a'.repeat(64), 'k'.repeat(128), 'k'.repeat(129), '/'.repeat(4095), '/'.repeat(4096), 'c'.repeat(65_536), 'c'.repeat(65_537),
  'V'.repeat(256), 'V'.repeat(257), 'v'.repeat(32_768), 'v'.repeat(32_769),
  0, 1, 100, 101, 4096, 4097, 1_000_000, 1_000_001, -1_000_000, -1_000_001,
);

/** A field that is usually well formed, sometimes on a bound, sometimes junk. */
const maybe = <T>(good: fc.Arbitrary<T>): fc.Arbitrary<T | unknown> => fc.oneof({ weight: 30, arbitrary: good }, { weight: 1, arbitrary: edge }, { weight: 1, arbitrary: junk });

const resources = fc.record(
  { cpu: maybe(cpu), memory: maybe(memory), gpu: maybe(fc.oneof(fc.integer({ min: -1, max: 9 }), fc.constantFrom('2', ' 3 ', 'x'))), extended: maybe(fc.constant({ 'fpga': 1 })), bogus: junk },
  { requiredKeys: [] },
);
const command = fc.oneof(word, fc.array(word, { maxLength: 4 }), junk);
const env = fc.dictionary(fc.oneof(fc.constantFrom('A', '_B', 'PATH', '1X', 'a-b', '__proto__', 'E'.repeat(256), 'E'.repeat(257)), fc.string({ maxLength: 5 })), maybe(fc.oneof(word, fc.constant('v'.repeat(40_000)))), { maxKeys: 4, noNullPrototype: true });
const task = fc.record(
  {
    name: maybe(fc.oneof(label, fc.constantFrom('main', 'group-1', 'Bad_Name'))),
    count: maybe(fc.integer({ min: -1, max: 5000 })),
    resources: maybe(resources),
    command,
    args: maybe(fc.array(word, { maxLength: 3 })),
    shell: maybe(fc.boolean()),
    env: maybe(env),
    workingDir: maybe(fc.constantFrom('/tmp', '', '/x'.repeat(3000))),
    timeLimit: maybe(duration),
    unknown: junk,
  },
  { requiredKeys: [] },
);
const selector = fc.oneof(fc.constantFrom('disk=ssd', 'zone in (z1, z2)', 'gpu', 'a notin (b)', 'x!=y', '=bad', 'k in ()'), fc.constant({ key: 'disk', op: '=', value: 'ssd' }), word);
const job = fc.record(
  {
    kind: fc.constantFrom('job', 'Job', 1),
    name: maybe(fc.oneof(label, fc.constantFrom('Job', '-x', 'a'.repeat(64)))),
    queue: maybe(fc.oneof(queueName, fc.constantFrom('a/b/c/d/e', 'Q', '', 'default'))),
    priority: maybe(fc.oneof(fc.integer({ min: -1_000_001, max: 1_000_001 }), fc.double({ min: -10, max: 10 }))),
    tasks: maybe(fc.array(task, { minLength: 0, maxLength: 3 })),
    constraints: maybe(fc.record({ sites: maybe(fc.array(maybe(label), { maxLength: 3 })), selectors: maybe(fc.array(selector, { maxLength: 3 })), other: junk }, { requiredKeys: [] })),
    strategy: maybe(fc.constantFrom('binpack', 'spread', 'random')),
    distinctNodes: maybe(fc.boolean()),
    gang: maybe(fc.boolean()),
    array: maybe(fc.integer({ min: -1, max: 1_000_001 })),
    dependencies: maybe(fc.array(fc.constantFrom('afterok:j-1', 'after:j-2', 'afterany:'), { maxLength: 2 })),
    retries: maybe(fc.record({ max: maybe(fc.integer({ min: -1, max: 101 })), backoff: maybe(duration), extra: junk }, { requiredKeys: [] })),
    idempotencyKey: maybe(fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('', 'k'.repeat(129)))),
    surprise: junk,
  },
  { requiredKeys: [] },
);

/** Mostly-valid jobs: the workload's own shapes, one field at a time replaced by junk or removed. */
const workload = writtenJobs(200, 3);
const mutated = fc.tuple(fc.nat(workload.length - 1), fc.constantFrom('name', 'queue', 'priority', 'tasks', 'constraints', 'array', 'retries', 'idempotencyKey', 'tasks.0.command', 'tasks.0.resources', 'tasks.0.env', 'tasks.0.count', 'tasks.0.resources.cpu', 'tasks.0.workingDir', 'tasks.0.name', 'tasks.0.args', 'priority', 'retries.max'), fc.option(fc.oneof(junk, edge))).map(([i, field, value]) => {
  const copy = structuredClone(workload[i]!) as Record<string, unknown>;
  const parts = field.split('.');
  let at: Record<string, unknown> = copy;
  for (const part of parts.slice(0, -1)) {
    const next = (at as Record<string, unknown>)[part];
    if (typeof next !== 'object' || next === null) return copy;
    at = next as Record<string, unknown>;
  }
  if (value === null) delete at[parts.at(-1)!];
  else at[parts.at(-1)!] = value;
  return copy;
});

t.test('the workload: every job accepted on the fast path, equal to the reference', async (t) => {
  let fast = 0;
  const differ: unknown[] = [];
  for (const j of writtenJobs(2000, 11)) {
    const frame = submit(j);
    if (!agrees(frame)) differ.push(j);
    if (fastOnly(frame) !== undefined) fast++;
  }
  t.same(differ, [], 'every job the same as the reference');
  t.equal(fast, 2000, 'no workload job falls back');
});

t.test('random jobs, valid and adversarial: the same answer as the reference', async (t) => {
  fastAccepted = 0;
  checked = 0;
  fc.assert(fc.property(job, (j) => agrees(submit(j))), { numRuns: 1500 });
  fc.assert(fc.property(mutated, (j) => agrees(submit(j))), { numRuns: 1000 });
  t.ok(fastAccepted > 100, `the fast path accepted ${fastAccepted} of ${checked} jobs checked (not a vacuous property)`);
});

t.test('numbers in every msgpack form, and repeated keys', async (t) => {
  const base = writtenJobs(1, 5)[0]!;
  // The same job with `priority` written as each numeric form by hand.
  const forms: [string, number[]][] = [
    ['fixint', [0x05]],
    ['negative fixint', [0xfb]],
    ['uint8', [0xcc, 0xc8]],
    ['uint16', [0xcd, 0x01, 0x00]],
    ['uint32', [0xce, 0x00, 0x0f, 0x42, 0x40]],
    ['uint32 past the bound', [0xce, 0x00, 0x0f, 0x42, 0x41]],
    ['int8', [0xd0, 0x80]],
    ['int16', [0xd1, 0xff, 0x00]],
    ['int32', [0xd2, 0xff, 0xf0, 0xbd, 0xc0]],
    ['uint64', [0xcf, 0, 0, 0, 0, 0, 0, 0, 7]],
    ['int64', [0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf9]],
    ['float32', [0xca, 0x40, 0x40, 0x00, 0x00]],
    ['float64 integral', [0xcb, 0x40, 0x08, 0, 0, 0, 0, 0, 0]],
    ['float64 fraction', [0xcb, 0x3f, 0xe0, 0, 0, 0, 0, 0, 0]],
    ['float64 -0', [0xcb, 0x80, 0, 0, 0, 0, 0, 0, 0]],
  ];
  const { priority: _, ...rest } = base;
  const head = packr.pack(rest);
  for (const [form, bytes] of forms) {
    // A map with one more entry: the header's count + 1, then `priority` and its value in this form.
    const job = Buffer.concat([Buffer.from([head[0]! + 1]), head.subarray(1), packr.pack('priority'), Buffer.from(bytes)]);
    const frame = Buffer.concat([Buffer.from([0x83]), packr.pack('kind'), packr.pack('submit'), packr.pack('id'), Buffer.from([1]), packr.pack('jobs'), Buffer.from([0x91]), job]);
    t.ok(agrees(frame), form);
  }
  // Repeated keys: msgpackr keeps the last one; the fast path leaves such a job to the reference.
  for (const [key, second] of [['queue', 'Bad'], ['queue', 'batch'], ['name', 'other'], ['tasks', []]] as const) {
    const job = Buffer.concat([Buffer.from([head[0]! + 1]), head.subarray(1), packr.pack(key), packr.pack(second)]);
    const frame = Buffer.concat([Buffer.from([0x83]), packr.pack('kind'), packr.pack('submit'), packr.pack('id'), Buffer.from([1]), packr.pack('jobs'), Buffer.from([0x91]), job]);
    t.ok(agrees(frame), `${key} twice`);
    t.equal(fastOnly(frame), undefined, `${key} twice: left to the reference`);
  }
});

t.test('frames other than submit keep their jobs decoded; a frame with two jobs keys decodes whole', async (t) => {
  const cancel = decodeFrame(packr.pack({ kind: 'cancel', id: 2, jobs: ['j-1', 'j-2'] }), false);
  t.same(cancel.ok && cancel.frame['jobs'], ['j-1', 'j-2']);
  const twice = Buffer.concat([Buffer.from([0x84]), packr.pack('kind'), packr.pack('submit'), packr.pack('jobs'), packr.pack([1]), packr.pack('id'), Buffer.from([1]), packr.pack('jobs'), packr.pack([{ queue: 'q' }])]);
  const decoded = decodeFrame(twice, false);
  t.same(decoded.ok && decoded.frame['jobs'], [{ queue: 'q' }], 'the last jobs key, as msgpackr decodes it');
});

t.test('a job whose bytes do not decode (the scan would have refused them) gets its own refusal, not a throw', async (t) => {
  const frame = Buffer.from([0x81, 0xa5, 0x71, 0x75]); // a map of one entry, cut inside its key
  const prepared = prepareSubmit(principal, { jobs: [new RawJob(frame, 0, frame.length)] }, undefined, DEFAULT_LIMITS, rate);
  t.ok(isPrepared(prepared));
  t.match(isPrepared(prepared) && prepared.results[0], { ok: false, code: 'MUSTER_ERR_BAD_FRAME' });
});
