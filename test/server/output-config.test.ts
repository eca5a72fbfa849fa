/**
 * `output: { keepBytes }` in the server's config file: the cap per stream of the control plane's copy of
 * tasks' output (PROTOCOL.md, `output`); 1 MiB by default; bad values refused, named by field.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { resolveConfig } from '../../src/server/index.js';

t.test('output in the config file: a byte count, 1 MiB by default, bad values named by field', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'muster.yaml');
  t.same((await resolveConfig({})).output, { keepBytes: 1_048_576 }, 'no output: the last 1 MiB of each stream');
  writeFileSync(file, 'output:\n  keepBytes: 65536\n');
  t.same((await resolveConfig({ config: file })).output, { keepBytes: 65_536 });
  writeFileSync(file, 'output: { keepBytes: 0 }\n');
  t.same((await resolveConfig({ config: file })).output, { keepBytes: 0 }, '0: nothing is kept');
  const bad: [string, RegExp][] = [
    ['output:\n  keepBytes: -1\n', /output\.keepBytes: expected a whole number ≥ 0/],
    ['output:\n  keepBytes: 1Mi\n', /output\.keepBytes: expected a whole number ≥ 0/],
    ['output:\n  keepBytes: 2147483648\n', /output\.keepBytes: at most 1073741824/],
    ['output:\n  keep: 5\n', /output\.keep: unknown field \(expected one of: keepBytes\)/],
    ['output: 1048576\n', /output: expected a map of keepBytes/],
  ];
  for (const [text, message] of bad) {
    writeFileSync(file, text);
    await t.rejects(resolveConfig({ config: file }), { code: 'MUSTER_ERR_INVALID_SPEC', message }, text.trim());
  }
});
