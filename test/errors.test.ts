import t from 'tap';
import { codeOf, ErrorCodes, fromWire, isErrorCode, MusterError, rangeError, toWire, typeError } from '../src/errors/index.js';

t.test('every code is namespaced and described', async (t) => {
  for (const [code, description] of Object.entries(ErrorCodes)) {
    t.match(code, /^MUSTER_ERR_[A-Z_]+$/, code);
    t.ok(description.length > 10, `${code} has a description`);
  }
});

t.test('coded errors keep their JavaScript kind and code', async (t) => {
  const r = rangeError('MUSTER_ERR_RESOURCE_UNDERFLOW', 'cpu: too little');
  t.ok(r instanceof RangeError);
  t.equal(r.code, 'MUSTER_ERR_RESOURCE_UNDERFLOW');
  const ty = typeError('MUSTER_ERR_INVALID_TYPE', 'not a number');
  t.ok(ty instanceof TypeError);
  t.equal(codeOf(ty), 'MUSTER_ERR_INVALID_TYPE');
  t.equal(codeOf(new Error('plain')), undefined);
  t.equal(codeOf(Object.assign(new Error('x'), { code: 'ENOENT' })), undefined);
  t.notOk(isErrorCode('toString'));
});

t.test('errors cross the wire as { code, message }', async (t) => {
  const wire = toWire(new MusterError('MUSTER_ERR_USAGE', 'bad flag'));
  t.same(wire, { code: 'MUSTER_ERR_USAGE', message: 'bad flag' });
  t.same(JSON.parse(JSON.stringify(wire)), wire);
  const back = fromWire(wire);
  t.ok(back instanceof MusterError);
  t.equal(back.code, 'MUSTER_ERR_USAGE');
  t.same(toWire(new Error('boom')), { code: 'MUSTER_ERR_INTERNAL', message: 'boom' });
  t.same(toWire('thrown string'), { code: 'MUSTER_ERR_INTERNAL', message: 'thrown string' });
});
