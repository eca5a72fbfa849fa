// readLog: whole files, offsets, the newest attempt, follow while the attempt runs, unknown attempts.
import t from 'tap';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LOG_CHUNK_BYTES } from '../../src/agent/index.js';
import type { Executor, ReadLogRequest } from '../../src/agent/index.js';
import { launch, makeExecutor, run, script } from './executor-fixtures.js';

async function readAll(ex: Executor, request: ReadLogRequest): Promise<string> {
  let text = '';
  for await (const chunk of ex.readLog(request)) text += chunk.toString('utf8');
  return text;
}

t.test('follow streams output appended while the attempt runs and ends when the attempt ends', async (t) => {
  const ex = await makeExecutor(t);
  // The task prints a line, then waits for a file the test creates once it has read that line: the second
  // line can only exist after the follower saw the first, so this proves streaming, not reading at the end.
  const r = run(ex, script('echo first; while [ ! -e go ]; do sleep 0.05; done; echo second; echo oops >&2'));
  const chunks: string[] = [];
  for await (const chunk of ex.readLog({ job: r.ref.job, task: r.ref.task, stream: 'stdout', follow: true })) {
    chunks.push(chunk.toString('utf8'));
    if (chunks.join('') === 'first\n') {
      t.equal(ex.running().length, 1, 'the attempt still runs when its first line arrives');
      await writeFile(join(ex.workDir, 'jobs', r.ref.job, String(r.ref.task), '0', 'work', 'go'), '');
    }
  }
  t.equal(chunks.join(''), 'first\nsecond\n', 'everything, in order, then the iterator finished');
  t.match(await r.ended, { outcome: 'succeeded' });
  t.equal(await readAll(ex, { ...r.ref, stream: 'stderr' }), 'oops\n', 'stderr is its own stream');
});

t.test('offsets, large output in chunks, and the newest attempt by default', async (t) => {
  const ex = await makeExecutor(t);
  const first = run(ex, launch('echo', { job: 'logs-1', task: 0, attempt: 0, args: ['attempt zero'] }));
  await first.ended;
  const bytes = LOG_CHUNK_BYTES * 2 + 10;
  const second = run(ex, script(`head -c ${bytes} /dev/zero | tr '\\0' x`, { job: 'logs-1', task: 0, attempt: 1 }));
  await second.ended;
  const sizes: number[] = [];
  for await (const chunk of ex.readLog({ job: 'logs-1', task: 0, stream: 'stdout' })) sizes.push(chunk.length);
  t.same(sizes, [LOG_CHUNK_BYTES, LOG_CHUNK_BYTES, 10], 'the newest attempt (1), in chunks of at most LOG_CHUNK_BYTES');
  t.equal(await readAll(ex, { job: 'logs-1', task: 0, attempt: 0, stream: 'stdout', offset: 8 }), 'zero\n');
  t.equal(await readAll(ex, { job: 'logs-1', task: 0, attempt: 0, stream: 'stdout', offset: 1000 }), '', 'past the end: nothing');
  t.equal(await readAll(ex, { job: 'logs-1', task: 0, attempt: 0, stream: 'stdout', follow: true }), 'attempt zero\n', 'follow of an ended attempt finishes');
});

t.test('a follower that starts before the process, and one that stops early', async (t) => {
  const ex = await makeExecutor(t);
  const r = run(ex, script('echo a; sleep 0.2; echo b'));
  // Right after start the files may not exist yet: the reader waits for them instead of failing.
  const text = readAll(ex, { ...r.ref, stream: 'stdout', follow: true });
  t.equal(await text, 'a\nb\n');

  const long = run(ex, script('echo tick; sleep 30'));
  for await (const chunk of ex.readLog({ ...long.ref, stream: 'stdout', follow: true })) {
    t.equal(chunk.toString(), 'tick\n');
    break; // the consumer leaves; the file handle is closed and the attempt is unaffected
  }
  t.equal(ex.running().length, 1);
  ex.kill(long.ref, 'cancel', { graceMs: 0 });
  await long.ended;
});

t.test('logs of attempts that never ran here, and malformed requests, are coded errors', async (t) => {
  const ex = await makeExecutor(t);
  await t.rejects(readAll(ex, { job: 'never', task: 0, stream: 'stdout' }), { code: 'MUSTER_ERR_UNKNOWN_JOB' });
  await t.rejects(readAll(ex, { job: 'never', task: 0, attempt: 2, stream: 'stdout' }), { code: 'MUSTER_ERR_UNKNOWN_JOB' });
  await t.rejects(readAll(ex, { job: '../x', task: 0, stream: 'stdout' }), { code: 'MUSTER_ERR_INVALID_NAME' });
  await t.rejects(readAll(ex, { job: 'never', task: 0, stream: 'stdout', offset: -1 }), { code: 'MUSTER_ERR_INVALID_VALUE' });
});
