import t from 'tap';
import { checkRecord, decodePayload, encodePayload, findIntactRecordAfter, RECORD_HEADER_BYTES, writeRecord } from '../../src/store/record-codec.js';
import { RECORD_PAYLOAD_LIMIT } from '../../src/store/limits.js';
import { jobSubmitted } from './fixtures/events.js';

function records(count: number, firstSeq = 1, epoch = 3): Buffer {
  const target = Buffer.alloc(count * 512);
  let offset = 0;
  for (let i = 0; i < count; i++) offset = writeRecord(target, offset, firstSeq + i, epoch, i === count - 1, encodePayload(jobSubmitted(firstSeq + i)));
  return target.subarray(0, offset);
}

t.test('a record round-trips: header fields, payload, the end-of-append flag', async (t) => {
  const bytes = records(3, 41, 7);
  let offset = 0;
  for (const seq of [41, 42, 43]) {
    const r = checkRecord(bytes, offset);
    if (!r.ok) throw new Error(r.reason);
    t.equal(r.seq, seq);
    t.equal(r.epoch, 7);
    t.equal(r.last, seq === 43);
    t.same(decodePayload(bytes.subarray(r.payloadStart, r.next)), jobSubmitted(seq));
    offset = r.next;
  }
  t.equal(offset, bytes.length);
  const size = (checkRecord(bytes, 0) as { next: number }).next;
  t.ok(size > 150 && size < 300, `a JobSubmitted record is ${size} bytes`);
});

t.test('every kind of damage is recognised, never thrown', async (t) => {
  const good = records(1);
  const cases: [string, (b: Buffer) => Buffer, RegExp][] = [
    ['short header', (b) => b.subarray(0, RECORD_HEADER_BYTES - 1), /short header/],
    ['short record', (b) => b.subarray(0, b.length - 1), /short record/],
    ['length beyond the limit', (b) => (b.writeUInt32LE(RECORD_PAYLOAD_LIMIT + 1, 0), b), /above the record limit/],
    ['a flipped payload bit', (b) => ((b[b.length - 5] as number) ^= 0x10, b), /checksum/],
    ['a flipped seq bit', (b) => ((b[9] as number) ^= 0x01, b), /checksum/],
    ['a flipped checksum bit', (b) => ((b[5] as number) ^= 0x80, b), /checksum/],
    ['all zeros', (b) => b.fill(0), /checksum/],
  ];
  for (const [name, damage, reason] of cases) {
    const r = checkRecord(damage(Buffer.from(good)), 0);
    t.equal(r.ok, false, name);
    if (!r.ok) t.match(r.reason, reason, name);
  }
});

t.test('unencodable events throw MUSTER_ERR_STORE_ENCODE; plain data encodes', async (t) => {
  t.throws(() => encodePayload({ s: Symbol('x') }), { code: 'MUSTER_ERR_STORE_ENCODE' });
  t.throws(() => encodePayload({ big: 2n ** 70n }), { code: 'MUSTER_ERR_STORE_ENCODE' });
  const cycle: Record<string, unknown> = {};
  cycle['self'] = cycle;
  t.throws(() => encodePayload(cycle), { code: 'MUSTER_ERR_STORE_ENCODE' });
  t.same(decodePayload(encodePayload({ a: [1, 'x', null, true, { b: 1.5 }] })), { a: [1, 'x', null, true, { b: 1.5 }] });
});

t.test('findIntactRecordAfter finds the next intact record behind damage, and nothing in garbage', async (t) => {
  const bytes = Buffer.from(records(5, 10));
  const second = (checkRecord(bytes, 0) as { next: number }).next;
  bytes[3] = 0xff; // damage the first record's length
  t.same(findIntactRecordAfter(bytes, 1, 10), { offset: second, seq: 11 });
  t.equal(findIntactRecordAfter(bytes, 1, 12)?.seq, 12, 'only seqs from minSeq count');
  const garbage = Buffer.alloc(4096);
  for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919) & 0xff;
  t.equal(findIntactRecordAfter(garbage, 0, 1), undefined);
  t.equal(findIntactRecordAfter(Buffer.alloc(4096), 0, 1), undefined, 'a zero-filled tail holds no record');
});
