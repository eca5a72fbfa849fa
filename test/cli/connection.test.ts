import t from 'tap';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { DEFAULT_SERVER, resolveConnection } from '../../src/cli/connection.js';
import { run } from '../../src/cli/main.js';
import { CaptureIo } from './capture-io.js';

t.test('server and token: flag, else environment, else the defaults and ./.muster/admin.token', async (t) => {
  const dir = t.testdir({ with: { '.muster': { 'admin.token': 'from-file\n' } }, without: {} });
  const withFile = `${dir}/with`;
  const without = `${dir}/without`;
  const env = { MUSTER_SERVER: 'http://env:1', MUSTER_TOKEN: 'from-env' };
  t.same(resolveConnection({ server: 'http://flag:1', token: 'from-flag' }, env, withFile), { endpoints: 'http://flag:1', token: 'from-flag' });
  t.same(resolveConnection({}, env, withFile), { endpoints: 'http://env:1', token: 'from-env' });
  t.same(resolveConnection({}, {}, withFile), { endpoints: DEFAULT_SERVER, token: 'from-file', tokenFile: `${withFile}/.muster/admin.token` });
  t.same(resolveConnection({}, {}, without), { endpoints: DEFAULT_SERVER, tokenFile: `${without}/.muster/admin.token` }, 'no token at all: the server will say 401');
  t.throws(() => resolveConnection({ token: '' }, {}, without), { code: 'MUSTER_ERR_USAGE', message: '--token is empty' });
  t.throws(() => resolveConnection({ server: ' ' }, {}, without), { code: 'MUSTER_ERR_USAGE', message: '--server is empty' });
  t.same(resolveConnection({}, { MUSTER_SERVER: ' ' }, without), { endpoints: DEFAULT_SERVER, tokenFile: `${without}/.muster/admin.token` }, 'an empty variable is unset');
});

t.test('a server that cannot be reached: a clear message and exit 1, never a stack trace', async (t) => {
  const listener = createServer();
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', () => resolve()));
  const dead = `http://127.0.0.1:${(listener.address() as AddressInfo).port}`;
  await new Promise<void>((resolve) => listener.close(() => resolve()));
  for (const args of [['submit', '--', 'true'], ['jobs'], ['job', 'j-1'], ['cancel', 'j-1'], ['watch'], ['queues'], ['nodes'], ['sites'], ['why', 'j-1']]) {
    const io = new CaptureIo();
    const code = await run([args[0] as string, '--server', dead, '--token', 'x', ...args.slice(1)], io);
    t.equal(code, 1, args.join(' '));
    t.same(io.stdout, [], `${args[0]}: nothing on stdout`);
    t.equal(io.stderr[0], `muster ${args[0]}: MUSTER_ERR_UNREACHABLE: cannot reach the muster server (${dead}: ECONNREFUSED)`, args.join(' '));
    t.match(io.stderr[1], /is the server running\?/);
  }
});
