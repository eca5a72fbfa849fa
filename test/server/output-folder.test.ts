/**
 * The control plane's copy of output on disk (src/server/output-folder.ts): a copy is readable only once
 * whole, and then at once; a repeated piece or a whole repeated shipment changes nothing; a piece with a
 * gap before it is refused (the agent ships again from the start); a new shipment of another size replaces
 * the old copy whole; `sweep` removes the copies of jobs not in the live state. Real files.
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { OutputChunk } from '../../src/api/index.js';
import { createLogger } from '../../src/log/index.js';
import { OutputFolder } from '../../src/server/output-folder.js';

const log = createLogger({ name: 'test', level: 'silent' });
const ref = { job: 'j-1', task: 0, attempt: 2, stream: 'stdout' } as const;

function piece(text: string, size: number, from: number, offset: number): OutputChunk {
  return { ...ref, size, from, offset, data: Buffer.from(text), last: offset + Buffer.byteLength(text) === size };
}

t.test('whole or nothing, repeats harmless, gaps refused, a new shipment replaces, sweep', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'muster-output-folder-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const folder = new OutputFolder({ dataDir: dir, keepBytes: 8, log });

  t.same(await folder.write(piece('cdef', 10, 2, 2)), { ok: true });
  t.equal(await folder.read(ref, 0, 100), undefined, 'not readable before its last piece');
  t.same(await folder.write(piece('cdef', 10, 2, 2)), { ok: true }, 'the first piece again');
  t.same(await folder.write(piece('ghij', 10, 2, 6)), { ok: true });
  t.same(await folder.read(ref, 0, 100), { size: 10, from: 2, data: Buffer.from('cdefghij') }, 'whole once the last piece is in');
  t.same(await folder.read(ref, 7, 2), { size: 10, from: 2, data: Buffer.from('hi') }, 'from an offset, bounded');
  t.same(await folder.read(ref, 10, 100), { size: 10, from: 2, data: Buffer.alloc(0) }, 'at the end: nothing more');

  t.match(await folder.write(piece('ij', 10, 2, 8)), { ok: false, field: 'offset' }, 'a piece with no shipment in progress before it is refused');
  t.same(await folder.write(piece('cdef', 10, 2, 2)), { ok: true }, 'the whole shipment again');
  t.same((await folder.read(ref, 0, 100))?.data, Buffer.from('cdefghij'), 'the old copy stays readable meanwhile');
  t.match(await folder.write(piece('ij', 12, 4, 8)), { ok: false, field: 'offset' }, 'a piece of another size than the shipment in progress is refused');
  t.same(await folder.write(piece('ghij', 10, 2, 6)), { ok: true });
  t.same((await folder.read(ref, 0, 100))?.data, Buffer.from('cdefghij'), 'a repeated shipment changes nothing');

  t.same(await folder.write(piece('ab', 2, 0, 0)), { ok: true }, 'a shipment of another size');
  t.same(await folder.read(ref, 0, 100), { size: 2, from: 0, data: Buffer.from('ab') }, 'replaces the copy whole');

  t.match(await folder.write({ ...piece('x', 1, 0, 0), job: '../escape' }), { ok: false, field: 'job' }, 'a job id that is not one never becomes a path');
  await folder.write({ ...piece('x', 1, 0, 0), job: 'j-2' });
  t.equal(await folder.sweep((job) => job === 'j-1'), 1, 'sweep removes the jobs not live');
  t.same(readdirSync(join(dir, 'output')), ['j-1']);
  await folder.removeJobs(['j-1']);
  t.notOk(existsSync(join(dir, 'output', 'j-1')), 'removeJobs removes a job folder');
  t.same(readdirSync(join(dir, 'output')), [], 'nothing left');
});
