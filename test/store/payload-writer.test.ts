/**
 * The log's own msgpack writer (src/store/payload-writer.ts) against msgpackr, the packer the log used
 * before and still uses for anything that is not plain data: the same bytes for every plain value (so
 * every record reads back alike whichever wrote it), `undefined` for anything else, and a log written
 * through it recovers to the events appended.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import t from 'tap';
import { internJob, validateJob } from '../../src/model/index.js';
import { writePlain } from '../../src/store/payload-writer.js';
import { decodePayload, encodePayload } from '../../src/store/record-codec.js';
import { writtenJobs } from '../../bench/workloads/submit-batches.js';
import { openRecovered } from './helpers.js';

/** The store's packer before the writer, with its options (record-codec.ts). */
const msgpackr = new Packr({ useRecords: false, moreTypes: false, variableMapSize: true });

const same = (value: unknown): boolean => {
  const mine = writePlain(value);
  return mine !== undefined && Buffer.from(mine).equals(Buffer.from(msgpackr.pack(value)));
};

/** Plain data in every size class msgpack distinguishes: strings past 31/255/65,535 bytes, containers past 15/65,535. */
const plain = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.string({ unit: 'binary', maxLength: 300 }),
    fc.string({ unit: 'grapheme', maxLength: 80 }),
    fc.string({ unit: fc.constantFrom('a', 'é', '€', '\ud83d', '\ude00', '😀'), maxLength: 90 }),
    fc.integer(),
    fc.integer({ min: -0x80000000 * 4, max: 0x100000000 * 4 }),
    fc.constantFrom(0, -0, 127, 128, 255, 256, 65535, 65536, -32, -33, -128, -129, -32768, -32769, 2 ** 31, -(2 ** 31) - 1, 2 ** 53, NaN, Infinity, -Infinity),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 20 }),
    fc.dictionary(fc.string({ maxLength: 40 }), tie('value'), { maxKeys: 20, noNullPrototype: true }),
  ),
}));

t.test('every plain value: the same bytes as msgpackr', async (t) => {
  fc.assert(fc.property(plain.value, same), { numRuns: 2000 });
  t.pass('2,000 random values');
  const big = { list: Array.from({ length: 70_000 }, (_, i) => i), map: Object.fromEntries(Array.from({ length: 70_000 }, (_, i) => [`k${i}`, i])), text: 'x'.repeat(70_000), wide: '€'.repeat(30_000) };
  t.ok(same(big), 'containers and strings past 65,535 (the 32-bit forms)');
  t.ok(same('a'.repeat(31) + '€'), 'a string whose bytes outgrow its header estimate');
});

t.test('scheduler events, specs shared by the interner: the same bytes, written again from the cache', async (t) => {
  const events = writtenJobs(2000, 7).map((job, i) => {
    const checked = validateJob(job);
    if (!checked.ok) throw new Error('workload job invalid');
    return { kind: 'JobSubmitted', at: 1_765_000_000_000 + i, job: `j-${i + 1}`, tenant: 'acme', spec: internJob(checked.value) };
  });
  for (let round = 0; round < 2; round++) {
    const differ = events.filter((e) => !same(e)).length;
    t.equal(differ, 0, `round ${round + 1}: every record the same bytes`);
  }
});

t.test('anything but plain data is left to msgpackr', async (t) => {
  class Point {
    x = 1;
  }
  const cyclic: Record<string, unknown> = {};
  cyclic['self'] = cyclic;
  const cases: [string, unknown][] = [
    ['undefined', { a: undefined }],
    ['binary', { b: new Uint8Array([1, 2]) }],
    ['a date', new Date(0)],
    ['a class instance', [new Point()]],
    ['a bigint', 1n],
    ['a hole in an array', [1, , 3]],
    ['a null-prototype object', Object.create(null)],
    ['a cycle', cyclic],
  ];
  for (const [name, value] of cases) t.equal(writePlain(value), undefined, name);
  t.same(decodePayload(encodePayload({ b: new Uint8Array([1, 2]) })), { b: new Uint8Array([1, 2]) }, 'encodePayload falls back');
  t.throws(() => encodePayload(cyclic), { code: 'MUSTER_ERR_STORE_ENCODE' }, 'a cycle is still refused with its code');
});

t.test('a log written through the writer recovers to the events appended', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'muster-payload-writer-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const events = writtenJobs(300, 9).map((job, i) => {
    const checked = validateJob(job);
    if (!checked.ok) throw new Error('workload job invalid');
    return { kind: 'JobSubmitted', at: 1_765_000_000_000 + i, job: `j-${i + 1}`, tenant: 'acme', spec: internJob(checked.value) };
  });
  const first = await openRecovered(dir);
  await first.store.append(first.recovered.epoch, events.slice(0, 150));
  // An event msgpackr writes (binary inside) between the writer's: both kinds in one log.
  await first.store.append(first.recovered.epoch, [{ kind: 'Opaque', blob: new Uint8Array([7, 8, 9]) }, ...events.slice(150)]);
  await first.store.close();
  const again = await openRecovered(dir);
  t.teardown(() => again.store.close());
  const read = again.recovered.events.map((e) => e.event);
  t.equal(read.length, events.length + 1);
  t.same(read[150], { kind: 'Opaque', blob: new Uint8Array([7, 8, 9]) });
  t.ok(
    read.filter((_, i) => i !== 150).every((e, i) => JSON.stringify(e) === JSON.stringify(events[i])),
    'every JobSubmitted reads back as appended',
  );
});
