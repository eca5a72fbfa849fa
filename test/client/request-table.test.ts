import t from 'tap';
import { RequestTable } from '../../src/client/request-table.js';
import type { ServerFrame } from '../../src/client/wire.js';

/** A request that records what happened to it. */
function recorder(table: RequestTable, now: number, resend = true): { id: number; replies: ServerFrame[]; failures: Error[] } {
  const replies: ServerFrame[] = [];
  const failures: Error[] = [];
  const entry = table.add({ frame: new Uint8Array([1]), resend, onReply: (f) => replies.push(f), onFail: (e) => failures.push(e) }, now);
  return { id: entry.id, replies, failures };
}

t.test('ids are consecutive unsigned integers and nextId names the next', async (t) => {
  const table = new RequestTable(1000);
  t.equal(table.nextId(), 1);
  const a = recorder(table, 0);
  const b = recorder(table, 0);
  t.same([a.id, b.id, table.nextId()], [1, 2, 3]);
  t.equal(table.size, 2);
});

t.test('a reply is matched once; unknown ids are ignored', async (t) => {
  const table = new RequestTable(1000);
  const a = recorder(table, 0);
  t.equal(table.get(a.id)?.id, a.id, 'get leaves it in the table');
  t.equal(table.size, 1);
  t.equal(table.take(a.id)?.id, a.id);
  t.equal(table.take(a.id), undefined, 'a second reply finds nothing');
  t.equal(table.take(99), undefined);
  t.equal(table.size, 0);
});

t.test('expire returns exactly the requests past their deadline, oldest first', async (t) => {
  const table = new RequestTable(100);
  recorder(table, 0);
  recorder(table, 10);
  const late = recorder(table, 50);
  t.same(table.expire(99).map((e) => e.id), [], 'nothing before the first deadline');
  t.same(table.expire(110).map((e) => e.id), [1, 2]);
  t.same(table.waiting().map((e) => e.id), [late.id]);
  t.same(table.expire(1e9).map((e) => e.id), [late.id]);
  t.equal(table.size, 0);
});

t.test('drop removes the requests a predicate picks', async (t) => {
  const table = new RequestTable(100);
  recorder(table, 0, true);
  recorder(table, 0, false);
  recorder(table, 0, true);
  t.same(table.drop((e) => !e.resend).map((e) => e.id), [2]);
  t.same(table.waiting().map((e) => e.id), [1, 3]);
});
