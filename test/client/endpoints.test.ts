import t from 'tap';
import { parseEndpoint, parseEndpoints } from '../../src/client/index.js';

t.test('endpoints in every written form', async (t) => {
  const cases: [string, string, string][] = [
    ['http://127.0.0.1:7070', 'http://127.0.0.1:7070', 'ws://127.0.0.1:7070/v1/submit'],
    ['http://127.0.0.1:7070/', 'http://127.0.0.1:7070', 'ws://127.0.0.1:7070/v1/submit'],
    ['127.0.0.1:7070', 'http://127.0.0.1:7070', 'ws://127.0.0.1:7070/v1/submit'],
    ['localhost', 'http://localhost', 'ws://localhost/v1/submit'],
    ['https://muster.example.com', 'https://muster.example.com', 'wss://muster.example.com/v1/submit'],
    ['ws://h:1', 'http://h:1', 'ws://h:1/v1/submit'],
    ['wss://h:1/prefix/', 'https://h:1/prefix', 'wss://h:1/prefix/v1/submit'],
    [' http://[::1]:9 ', 'http://[::1]:9', 'ws://[::1]:9/v1/submit'],
  ];
  for (const [text, http, submit] of cases) t.same(parseEndpoint(text), { http, submit }, text);
});

t.test('what is not a server address is refused with a code', async (t) => {
  for (const text of ['ftp://h:1', 'http://', 'http://a b']) {
    t.throws(() => parseEndpoint(text), { code: 'MUSTER_ERR_INVALID_VALUE' }, text);
  }
});

t.test('a list is an array or a comma-separated string; empty entries are skipped', async (t) => {
  t.same(parseEndpoints('a:1, b:2,').map((e) => e.http), ['http://a:1', 'http://b:2']);
  t.same(parseEndpoints(['a:1', 'b:2,c:3']).map((e) => e.http), ['http://a:1', 'http://b:2', 'http://c:3']);
  t.throws(() => parseEndpoints(' , '), { code: 'MUSTER_ERR_REQUIRED' });
});
