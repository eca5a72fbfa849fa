/**
 * The shipper's decisions (src/agent/output-shipper.ts) against a scripted link and real files: it ships
 * nothing before a server said what it keeps; a refusal that may pass is tried again; any other refusal of
 * a later piece ships the stream once more from its start, then gives it up; an unreadable stream is given
 * up with an error line and the attempt's other stream still goes; a new shipper finds what the outbox held.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import type { OutputAnswer, OutputPiece } from '../../src/agent/index.js';
import { OutputShipper } from '../../src/agent/index.js';
import { createLogger } from '../../src/log/index.js';
import { until } from '../helpers/until.js';

const log = createLogger({ name: 'test', level: 'silent' });
const ref = { job: 'j-1', task: 0, attempt: 1 };

interface Scripted {
  readonly shipper: OutputShipper;
  readonly sent: OutputPiece[];
  readonly work: string;
}

/** A shipper over a work folder with `files` as the attempt's streams; `answer` decides each reply. */
async function scripted(t: Test, files: { stdout?: string | 'folder'; stderr?: string }, answer: (piece: OutputPiece, n: number) => OutputAnswer): Promise<Scripted> {
  const work = await mkdtemp(join(tmpdir(), 'muster-shipper-'));
  t.teardown(() => rm(work, { recursive: true, force: true }));
  const folder = join(work, 'jobs', 'j-1', '0', '1');
  await mkdir(folder, { recursive: true });
  if (files.stdout === 'folder') await mkdir(join(folder, 'stdout'));
  else if (files.stdout !== undefined) await writeFile(join(folder, 'stdout'), files.stdout);
  if (files.stderr !== undefined) await writeFile(join(folder, 'stderr'), files.stderr);
  const sent: OutputPiece[] = [];
  const shipper = new OutputShipper({
    workDir: work,
    node: 'n1',
    path: (r, stream) => join(work, 'jobs', r.job, String(r.task), String(r.attempt), stream),
    send: async (_node, piece) => {
      sent.push(piece);
      return answer(piece, sent.length);
    },
    log,
  });
  t.teardown(() => shipper.stop());
  await shipper.recover();
  return { shipper, sent, work };
}

const STORED: OutputAnswer = { kind: 'stored' };

t.test('nothing before a server says what it keeps; then the tail of each stream', async (t) => {
  const s = await scripted(t, { stdout: '0123456789', stderr: '' }, () => STORED);
  await s.shipper.add(ref);
  s.shipper.registered(undefined);
  await s.shipper.drained(100);
  t.same(s.sent, [], 'a server that keeps nothing is shipped nothing');
  t.same(await readdir(join(s.work, 'outbox')), ['j-1#0#1'], 'the attempt waits in the outbox');
  s.shipper.registered(4);
  await until('both streams shipped', async () => s.shipper.pending, (n) => n === 0, 10_000);
  t.match(s.sent, [
    { stream: 'stdout', size: 10, from: 6, offset: 6, last: true },
    { stream: 'stderr', size: 0, from: 0, offset: 0, last: true },
  ]);
  t.equal(Buffer.from(s.sent[0]!.data).toString(), '6789', 'the last 4 bytes');
  t.same(await readdir(join(s.work, 'outbox')), [], 'the outbox entry is gone');
});

t.test('a refusal that may pass is tried again; another refusal of a later piece ships the stream once more from its start, then gives it up', async (t) => {
  const big = 'a'.repeat(256 * 1024) + 'b'.repeat(10);
  const s = await scripted(t, { stdout: big, stderr: 'e' }, (piece, n) => {
    if (n === 1) return { kind: 'refused', code: 'MUSTER_ERR_NOT_READY', message: 'recovering' };
    if (piece.stream === 'stdout' && piece.offset > 0) return { kind: 'refused', code: 'MUSTER_ERR_INVALID_VALUE', message: 'a gap' };
    return STORED;
  });
  s.shipper.registered(1 << 20);
  await s.shipper.add(ref);
  await until('the attempt to be done with', async () => s.shipper.pending, (n) => n === 0, 10_000);
  const stdout = s.sent.filter((p) => p.stream === 'stdout').map((p) => p.offset);
  t.same(stdout, [0, 0, 262144, 0, 262144], 'not ready: again; a refused later piece: once more from the start; refused again: given up');
  t.match(s.sent.at(-1), { stream: 'stderr', size: 1, last: true }, 'the other stream still goes');
});

t.test('an unreadable stream is given up with an error line; the other stream still goes', async (t) => {
  const s = await scripted(t, { stdout: 'folder', stderr: 'err' }, () => STORED);
  s.shipper.registered(1024);
  await s.shipper.add(ref);
  await until('the attempt to be done with', async () => s.shipper.pending, (n) => n === 0, 10_000);
  t.match(s.sent, [{ stream: 'stderr', size: 3 }], 'stderr shipped, stdout (a folder, unreadable as a file) not');
});

t.test('a new shipper on the same work folder ships what the outbox held', async (t) => {
  const first = await scripted(t, { stdout: 'out', stderr: 'err' }, () => ({ kind: 'disconnected' }));
  first.shipper.registered(1024);
  await first.shipper.add(ref);
  await until('a piece to be tried', async () => first.sent.length, (n) => n >= 1, 10_000);
  await first.shipper.stop();
  t.same(await readdir(join(first.work, 'outbox')), ['j-1#0#1'], 'not shipped: still in the outbox');

  const sent: OutputPiece[] = [];
  const second = new OutputShipper({
    workDir: first.work,
    node: 'n1',
    path: (r, stream) => join(first.work, 'jobs', r.job, String(r.task), String(r.attempt), stream),
    send: async (_node, piece) => {
      sent.push(piece);
      return STORED;
    },
    log,
  });
  t.teardown(() => second.stop());
  await second.recover();
  t.equal(second.pending, 1, 'found in the outbox');
  second.registered(1024);
  await until('shipped', async () => second.pending, (n) => n === 0, 10_000);
  t.same(sent.map((p) => [p.stream, Buffer.from(p.data).toString()]), [['stdout', 'out'], ['stderr', 'err']]);
  t.same(await readdir(join(first.work, 'outbox')), []);
});
