/**
 * Integers the server writes in msgpack are msgpack integers (PROTOCOL.md, Conventions): request ids past
 * 2^32 are echoed as `uint 64`, event times are `uint 64`, never `float 64` (0xcb). Checked on the raw bytes.
 */
import t from 'tap';
import { Packr, Unpackr } from 'msgpackr';
import WebSocket from 'ws';
import { integersAsIntegers } from '../../src/api/wire-integers.js';
import { TOKENS, jobSpec, startTestServer } from './helpers.js';

const packr = new Packr({ useRecords: false, variableMapSize: true });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

/** The type byte of the value after each occurrence of the map key `key` (a fixstr) in `bytes`. */
function typesAfterKey(bytes: Uint8Array, key: string): number[] {
  const needle = Buffer.concat([Buffer.from([0xa0 | key.length]), Buffer.from(key)]);
  const found: number[] = [];
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = buffer.indexOf(needle); at >= 0; at = buffer.indexOf(needle, at + 1)) found.push(buffer[at + needle.length]!);
  return found;
}

t.test('integersAsIntegers: integral doubles become uint 64 or int 64 in place; the rest is untouched', async (t) => {
  const cases: readonly [value: number, type: number][] = [
    [2 ** 32, 0xcf],
    [2 ** 32 + 1, 0xcf],
    [1_765_000_000_123, 0xcf],
    [Number.MAX_SAFE_INTEGER, 0xcf],
    [-(2 ** 31) - 1, 0xd3],
    [-1_765_000_000_123, 0xd3],
    [Number.MIN_SAFE_INTEGER, 0xd3],
    [0.5, 0xcb],
    [1_765_000_000_123.25, 0xcb],
    [2 ** 60, 0xcb],
    [Number.NaN, 0xcb],
    [Number.POSITIVE_INFINITY, 0xcb],
  ];
  for (const [value, type] of cases) {
    const bytes = integersAsIntegers(packr.pack({ v: value }));
    t.equal(typesAfterKey(bytes, 'v')[0], type, `${value}: type 0x${type.toString(16)}`);
    t.same(unpackr.unpack(bytes), { v: value }, `${value} reads back`);
  }
  // 0xcb bytes inside strings, bins and other numbers' payloads are data, not floats.
  const tricky = { s: '\u00cb\u00cb', b: Buffer.from([0xcb, 0, 0, 0, 0, 0, 0, 0, 0]), u: 0xcbcbcbcb, n: -0x34, list: [0.1, 2 ** 40, { deep: -(2 ** 40) }], big: 'x'.repeat(300) + '\u00cb' };
  const bytes = packr.pack(tricky);
  const before = Buffer.from(bytes);
  integersAsIntegers(bytes);
  t.same(unpackr.unpack(bytes), tricky, 'every value reads back');
  const changed = [...bytes].flatMap((b, i) => (b !== before[i] ? [i] : []));
  t.equal(changed.length > 0, true);
  t.same(typesAfterKey(bytes, 'deep'), [0xd3]);
  const noFloat = Buffer.from(packr.pack({ a: 1, b: 'text' }));
  t.equal(integersAsIntegers(noFloat), noFloat, 'a frame with no float is returned as it is');
});

t.test('a real server echoes a request id past 2^32 and writes event times as 64-bit integers', async (t) => {
  const server = await startTestServer();
  t.teardown(() => server.stop());
  const socket = new WebSocket(`${server.ws}/v1/submit`, { headers: { authorization: `Bearer ${TOKENS.acme}` } });
  t.teardown(() => socket.close());
  const frames: Buffer[] = [];
  let wake: () => void = () => {};
  socket.on('message', (data: Buffer) => {
    frames.push(data);
    wake();
  });
  await new Promise((resolve, reject) => socket.on('open', resolve).on('error', reject));
  const next = async (match: (frame: Record<string, unknown>) => boolean): Promise<Buffer> => {
    for (let seen = 0; ; ) {
      for (; seen < frames.length; seen++) if (match(unpackr.unpack(frames[seen]!) as Record<string, unknown>)) return frames[seen]!;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  };
  const watchId = 2 ** 32 + 1;
  const submitId = 2 ** 40 + 3;
  socket.send(packr.pack({ kind: 'watch', id: watchId }));
  const watching = await next((f) => f['kind'] === 'watching');
  t.same(typesAfterKey(watching, 'id'), [0xcf], `the watch's id is a uint 64: ${watching.toString('hex')}`);
  t.equal((unpackr.unpack(watching) as { id: number }).id, watchId);
  socket.send(packr.pack({ kind: 'submit', id: submitId, jobs: [jobSpec()] }));
  const submitted = await next((f) => f['kind'] === 'submitted');
  t.same(typesAfterKey(submitted, 'id'), [0xcf], `the submit's id is a uint 64: ${submitted.toString('hex')}`);
  t.equal((unpackr.unpack(submitted) as { id: number }).id, submitId);
  const events = await next((f) => f['kind'] === 'events');
  t.same(typesAfterKey(events, 'watch'), [0xcf], 'the events name their watch as a uint 64');
  const times = typesAfterKey(events, 'at');
  t.ok(times.length >= 1, 'events with times');
  t.same(times, times.map(() => 0xcf), `every event's at is a uint 64: ${events.toString('hex')}`);
  const decoded = unpackr.unpack(events) as { events: { at: number }[] };
  t.ok(decoded.events.every((e) => Number.isSafeInteger(e.at) && e.at > 2 ** 32));
});
