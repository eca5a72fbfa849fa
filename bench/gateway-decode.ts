/**
 * The gateway's CPU work per submitted job, on one core, with no sockets: what `/v1/submit` does with a
 * frame before the scheduler sees it — the structural scan and msgpack decode, reading the request,
 * the role check, the tenant's rate limit, each spec's size and its validation (`validateJob`).
 *
 * - `json-parse` (reference): `JSON.parse` of the same batches as JSON text — decoding alone, no checks.
 * - `msgpack-unpack` (reference): msgpackr's generic `unpack` of the same frames into plain objects, no
 *   checks (vs `json-parse`). The submit path no longer does this: its scan leaves each job as bytes that
 *   the one-pass reader turns into a spec (src/api/job-reader.ts).
 * - `per-job-frames` (baseline): the whole path with one job per frame.
 * - `decode-validate`: the whole path with frames of 1,000 jobs (target ≥ 500,000 jobs/s; vs per-job frames).
 *
 * It runs the compiled code in dist/ (what `muster server` runs; tsx's transform adds a helper call per
 * closure), so build first. Before recording, every job of every frame must have come out valid and equal
 * to `validateJob` of the same job parsed from JSON.
 */
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { Packr } from 'msgpackr';
import type { BenchContext } from './lib/index.js';
import { sampleRate } from './lib/index.js';
import { writtenJobs } from './workloads/submit-batches.js';

type Api = typeof import('../src/api/index.js');
type Model = typeof import('../src/model/index.js');

/** Jobs per frame in the batched cases: what the client library batches to. */
const BATCH = 1000;
/** Distinct frames cycled through (different jobs, so nothing is measured on one hot object). */
const FRAMES = 20;

async function load<T>(relative: string): Promise<T> {
  const file = fileURLToPath(new URL(`../dist/${relative}`, import.meta.url));
  if (!existsSync(file)) throw new Error(`bench gateway: ${file} is missing; run \`npm run build\` first`);
  return (await import(file)) as T;
}

export async function decodeValidateCases(ctx: BenchContext): Promise<void> {
  const api = await load<Api>('api/index.js');
  const model = await load<Model>('model/index.js');
  const packr = new Packr({ useRecords: false });
  const batches = Array.from({ length: FRAMES }, (_, f) => writtenJobs(BATCH, f + 1));
  const frames = batches.map((jobs, f) => packr.pack({ kind: 'submit', id: f, jobs }));
  const texts = batches.map((jobs, f) => JSON.stringify({ kind: 'submit', id: f, jobs }));
  const single = batches.flatMap((jobs) => jobs.slice(0, BATCH / FRAMES).map((job, i) => packr.pack({ kind: 'submit', id: i, jobs: [job] })));
  const limits = api.DEFAULT_LIMITS;
  const principal = { tenant: 'acme', role: 'submitter' } as const;
  // The rate check runs; its bucket is big enough never to refuse (refusal is not what is measured).
  const rate = new api.RateLimiter(1e15, 1e15);
  const rounds = ctx.quick ? 2 : 10;
  const options = { warmup: ctx.quick ? 1 : 3, samples: ctx.quick ? 3 : 10 };
  ctx.config({ jobsPerFrame: BATCH, distinctFrames: FRAMES, framesPerSample: FRAMES * rounds, frameBytes: Math.round(frames.reduce((s, f) => s + f.length, 0) / FRAMES) });

  /** The hot path on one frame: the number of valid specs it yields. */
  const handle = (bytes: Uint8Array): number => {
    const decoded = api.decodeFrame(bytes, bytes.length > limits.maxSpecBytes);
    if (!decoded.ok) throw new Error(decoded.error.message);
    const read = api.readClientRequest(decoded.frame, limits);
    if (!read.ok || read.request.kind !== 'submit') throw new Error('not a submit');
    const prepared = api.prepareSubmit(principal, read.request, decoded.jobSizes, limits, rate);
    if (!api.isPrepared(prepared)) throw new Error(prepared.message);
    return prepared.specs.length;
  };

  // Correct and non-trivial first: every job valid, and the same spec the model gives for the JSON form.
  for (let f = 0; f < FRAMES; f++) {
    const decoded = api.decodeFrame(frames[f]!, true);
    if (!decoded.ok) throw new Error(decoded.error.message);
    const read = api.readClientRequest(decoded.frame, limits);
    if (!read.ok || read.request.kind !== 'submit') throw new Error('not a submit');
    const prepared = api.prepareSubmit(principal, read.request, decoded.jobSizes, limits, rate);
    if (!api.isPrepared(prepared) || prepared.specs.length !== BATCH) throw new Error(`frame ${f}: not every job came out valid`);
    const expected = (JSON.parse(texts[f]!) as { jobs: unknown[] }).jobs.map((j) => {
      const v = model.validateJob(j);
      if (!v.ok) throw new Error(`workload job invalid: ${v.problems[0]?.message}`);
      return v.value;
    });
    if (!isDeepStrictEqual(prepared.specs, expected)) throw new Error(`frame ${f}: the specs differ from validateJob of the JSON form`);
  }

  const jobsPerSample = FRAMES * rounds * BATCH;
  ctx.record({
    id: 'json-parse',
    unit: 'jobs/s',
    samples: await sampleRate(options, () => {
      for (let r = 0; r < rounds; r++) for (const text of texts) JSON.parse(text);
      return jobsPerSample;
    }),
  });
  ctx.record({
    id: 'msgpack-unpack',
    unit: 'jobs/s',
    baseline: 'json-parse',
    samples: await sampleRate(options, () => {
      for (let r = 0; r < rounds; r++) for (const frame of frames) if ((packr.unpack(frame) as { jobs: unknown[] }).jobs.length !== BATCH) throw new Error('bad frame');
      return jobsPerSample;
    }),
  });
  ctx.record({
    id: 'per-job-frames',
    unit: 'jobs/s',
    samples: await sampleRate(options, () => {
      let valid = 0;
      for (let r = 0; r < rounds; r++) for (const frame of single) valid += handle(frame);
      if (valid !== rounds * single.length) throw new Error('a job came out invalid');
      return valid;
    }),
  });
  const started = performance.now();
  ctx.record({
    id: 'decode-validate',
    unit: 'jobs/s',
    baseline: 'per-job-frames',
    samples: await sampleRate(options, () => {
      let valid = 0;
      for (let r = 0; r < rounds; r++) for (const frame of frames) valid += handle(frame);
      if (valid !== jobsPerSample) throw new Error('a job came out invalid');
      return valid;
    }),
  });
  ctx.log(`decode-validate: ${((performance.now() - started) / 1000).toFixed(1)} s for ${options.warmup + options.samples} runs of ${jobsPerSample} jobs`);
}
