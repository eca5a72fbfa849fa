/**
 * The store's fault injection (MUSTER_STORE_FAULTS): rules are read strictly, with the rule and the part
 * at fault named; an injected error looks like Node's own (code, errno, syscall, path); the calls before
 * the fault reach the real files; once failed, an operation stays failed; and a store on an injected seam
 * fails as on a real failing disk (MUSTER_ERR_STORE_FAILED naming the errno and the file).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { failureCause, injectStoreFaults, openNodeFile, parseStoreFaults } from '../../src/store/index.js';
import { openRecovered, segmentFiles } from './helpers.js';
import { jobSubmitted } from './fixtures/events.js';

t.test('rules: OPERATION:ERRNO:AFTER, comma separated; bad ones refused with MUSTER_ERR_INVALID_VALUE naming the rule', async (t) => {
  t.same(parseStoreFaults(''), []);
  t.same(parseStoreFaults(' fsync:EIO:40 , write:ENOSPC:0 '), [
    { operation: 'fsync', errno: 'EIO', after: 40 },
    { operation: 'write', errno: 'ENOSPC', after: 0 },
  ]);
  const bad: [string, RegExp][] = [
    ['fsync:EIO', /rule "fsync:EIO": expected 3 parts/],
    ['read:EIO:1', /OPERATION "read" is not one of: write, fsync/],
    ['write:EPERM:1', /ERRNO "EPERM" is not one of: EIO, ENOSPC/],
    ['write:EIO:-1', /AFTER "-1" is not a count/],
    ['write:EIO:1.5', /AFTER "1.5" is not a count/],
    ['write:EIO:1,write:ENOSPC:2', /a second rule for write/],
  ];
  for (const [text, message] of bad) {
    t.throws(() => parseStoreFaults(text), { code: 'MUSTER_ERR_INVALID_VALUE', message: new RegExp(`^MUSTER_STORE_FAULTS: .*${message.source}`) }, text);
  }
});

t.test('the first AFTER calls reach the file; every later one fails like a Node error, and stays failed', async (t) => {
  const dir = t.testdir();
  const injected: string[] = [];
  const openFile = injectStoreFaults(openNodeFile, parseStoreFaults('write:ENOSPC:2,fsync:EIO:1'), (fault, path, syscall) => injected.push(`${fault.errno} ${syscall} ${path}`));
  const path = join(dir, 'f');
  const file = await openFile(path, 'wx');
  await file.write(Buffer.from('ab'), 0, 2, 0);
  await file.write(Buffer.from('cd'), 0, 2, 2);
  await t.rejects(file.write(Buffer.from('ef'), 0, 2, 4), { code: 'ENOSPC', errno: -28, syscall: 'write', path, message: /^ENOSPC: no space left on device, write/ });
  await t.rejects(file.write(Buffer.from('ef'), 0, 2, 4), { code: 'ENOSPC' }, 'a failed operation stays failed');
  await file.datasync();
  await t.rejects(file.sync(), { code: 'EIO', errno: -5, syscall: 'fsync' }, 'fsync counts fdatasync and fsync together');
  await t.rejects(file.datasync(), { code: 'EIO', syscall: 'fdatasync' });
  await file.close();
  t.equal(readFileSync(path, 'utf8'), 'abcd', 'the calls before the fault reached the file');
  t.same(injected, [`ENOSPC write ${path}`, `EIO fsync ${path}`], 'the first failure of each rule is reported once');
});

t.test('a store on an injected seam fails with MUSTER_ERR_STORE_FAILED naming the errno and the segment', async (t) => {
  const cases = [
    ['write:EIO', 'EIO'],
    ['write:ENOSPC', 'ENOSPC'],
    ['fsync:EIO', 'EIO'],
    ['fsync:ENOSPC', 'ENOSPC'],
  ] as const;
  for (const [rule, errno] of cases) {
    await t.test(rule, async (t) => {
      const dir = t.testdir();
      // Opening takes one write and two fsyncs (meta.json and the folder); five appends go through.
      const { store, recovered } = await openRecovered(dir, { openFile: injectStoreFaults(openNodeFile, parseStoreFaults(`${rule}:${rule.startsWith('write') ? 6 : 8}`)) });
      for (let i = 1; i <= 5; i++) await store.append(recovered.epoch, [jobSubmitted(i)]);
      const failed = await store.append(recovered.epoch, [jobSubmitted(6)]).then(
        () => undefined,
        (err: unknown) => err,
      );
      t.match(failed, { code: 'MUSTER_ERR_STORE_FAILED', message: new RegExp(errno) });
      const segment = join(dir, segmentFiles(dir)[0] as string);
      t.same(failureCause(failed), { errno, file: segment }, 'the cause names the errno and the segment');
      await store.close();
      const { store: again, recovered: r } = await openRecovered(dir);
      t.ok(r.lastSeq >= 5, `the five acknowledged appends are there (last seq ${r.lastSeq})`);
      await again.close();
    });
  }
});
