import t from 'tap';
import { createLogger, humanLine } from '../../src/log/index.js';

t.test('a JSON record as one readable line', async (t) => {
  const at = Date.UTC(2026, 11, 7, 9, 8, 7, 654);
  t.equal(humanLine(JSON.stringify({ level: 30, time: at, pid: 42, name: 'server', msg: 'listening', part: 'gateway', url: 'http://127.0.0.1:7070' })), '09:08:07.654 INFO  server: listening part=gateway url=http://127.0.0.1:7070');
  t.equal(humanLine(JSON.stringify({ level: 50, time: at, name: 'store', msg: 'write failed', err: { type: 'Error', message: 'EIO: i/o error', stack: 'Error: EIO…' }, reason: 'no space left' })), '09:08:07.654 ERROR store: write failed err="EIO: i/o error" reason="no space left"');
  t.equal(humanLine('not json\n'), 'not json', 'a line that is not a record passes as it is');
});

t.test('a logger writing human lines still redacts secrets', async (t) => {
  const lines: string[] = [];
  const log = createLogger({ name: 'gateway', level: 'info', destination: { write: (s: string) => void lines.push(humanLine(s)) } });
  log.info({ token: 'secret-token-value', tenant: 'acme' }, 'refused');
  t.match(lines[0], /^\d\d:\d\d:\d\d\.\d{3} INFO  gateway: refused token=\[redacted\] tenant=acme$/);
});
