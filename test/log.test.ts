import t from 'tap';
import { Writable } from 'node:stream';
import { createLogger } from '../src/log/index.js';

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { stream, lines: () => chunks.join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

t.test('tokens, secrets and task environments are redacted', async (t) => {
  const out = capture();
  const log = createLogger({ name: 'test', level: 'info', destination: out.stream });
  log.info(
    {
      token: 'tok-123',
      request: { headers: { authorization: 'Bearer tok-456' } },
      user: { password: 'hunter2', name: 'ada' },
      task: { env: { API_KEY: 'k-789' }, command: 'echo' },
      config: { secret: 's-1' },
    },
    'hello',
  );
  const [line] = out.lines();
  const text = JSON.stringify(line);
  for (const secret of ['tok-123', 'tok-456', 'hunter2', 'k-789', 's-1']) t.notOk(text.includes(secret), `${secret} is not logged`);
  t.match(line, {
    name: 'test',
    msg: 'hello',
    token: '[redacted]',
    request: { headers: { authorization: '[redacted]' } },
    user: { password: '[redacted]', name: 'ada' },
    task: { env: '[redacted]', command: 'echo' },
  });
});

t.test('the level is honoured', async (t) => {
  const out = capture();
  const log = createLogger({ name: 'quiet', level: 'warn', destination: out.stream });
  log.info('not shown');
  log.warn('shown');
  t.same(out.lines().map((l) => l['msg']), ['shown']);
});
