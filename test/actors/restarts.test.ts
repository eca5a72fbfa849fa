/**
 * `ActorSystem.restartCounts()`: restarts per actor name across every host, read on the main thread —
 * actors restarted by their supervisor on the main thread and on a worker, and worker host restarts.
 */
import t from 'tap';
import type { Test } from 'tap';
import { HOST_RESTARTS_NAME, createActorSystem, defineActor, producer, reply, siblingModule } from '../../src/actors/index.js';
import type { ActorRef, ActorSystem, ActorSystemOptions, Directive } from '../../src/actors/index.js';
import { makeCounter } from './fixtures/counter.js';
import type { CounterMsg } from './fixtures/counter.js';
import { nextEvent, quietLog } from './helpers.js';

const counter = producer<typeof makeCounter>(siblingModule(import.meta.url, './fixtures/counter'), 'makeCounter');

async function system(t: Test, options: ActorSystemOptions): Promise<ActorSystem> {
  const s = await createActorSystem({ log: quietLog, logLevel: 'silent', ...options });
  t.teardown(() => s.shutdown());
  return s;
}

const get = (s: ActorSystem, ref: ActorRef<CounterMsg>): Promise<number> => s.ask<number, CounterMsg>(ref, (replyTo) => ({ kind: 'get', replyTo }));

type ThrowerMsg = { readonly kind: 'throw' };

/** Throws at every message; its supervisor applies `decide`, with a budget of `maxRestarts` a minute. */
function thrower(name: string, decide: Directive, maxRestarts = 10) {
  return defineActor<null, ThrowerMsg>({
    name,
    initial: () => null,
    supervision: { decide: () => decide, maxRestarts, withinMs: 60_000 },
    behaviour: () => {
      throw new Error(`${name} asked to throw`);
    },
  });
}

t.test('main thread: each restart decision counts once under the definition name; other directives do not count', async (t) => {
  const s = await system(t, { workers: 0 });
  t.same([...s.restartCounts()], [], 'nothing counted at start');
  const cases = [
    { name: 'restarting', decide: 'restart' as const, throws: 3, counted: 3 },
    { name: 'resuming', decide: 'resume' as const, throws: 2, counted: undefined },
    { name: 'stopping', decide: 'stop' as const, throws: 1, counted: undefined },
    // Two restarts within the budget, then the third is refused (published as stop, budget exhausted).
    { name: 'exhausted', decide: 'restart' as const, throws: 3, counted: 2, maxRestarts: 2 },
  ];
  for (const c of cases) {
    const ref = s.spawnLocal(thrower(c.name, c.decide, c.maxRestarts));
    for (let i = 0; i < c.throws; i++) s.tell(ref, { kind: 'throw' });
  }
  await s.mainIdle();
  for (const c of cases) t.equal(s.restartCounts().get(c.name), c.counted, `${c.name}: ${c.counted ?? 'not'} counted`);
});

t.test('main thread: an escalation counts the restart of the parent that restarts, not the child', async (t) => {
  const s = await system(t, { workers: 0 });
  type ParentMsg = { readonly kind: 'child'; readonly replyTo: ActorRef<ActorRef<ThrowerMsg>> };
  const parent = s.spawnLocal(
    defineActor<{ child: ActorRef<ThrowerMsg> }, ParentMsg>({
      name: 'parent',
      initial: (ctx) => ({ child: ctx.spawn(thrower('child', 'escalate')) }),
      behaviour: (state, msg) => reply(msg.replyTo, state.child),
    }),
  );
  const child = await s.ask<ActorRef<ThrowerMsg>, ParentMsg>(parent, (replyTo) => ({ kind: 'child', replyTo }));
  s.tell(child, { kind: 'throw' });
  await s.mainIdle();
  t.same(Object.fromEntries(s.restartCounts()), { parent: 1 });
});

t.test('a worker actor restarted by its supervisor is counted on the main thread, with the same name on the main thread', async (t) => {
  const s = await system(t, { workers: 1 });
  const remote = await s.spawn(1, counter, { start: 5 });
  const local = s.spawnLocal(makeCounter({ start: 7 }));

  const restartedRemote = nextEvent(s, 'supervision', (e) => e.actor.host === 1 && e.directive === 'restart');
  s.tell(remote, { kind: 'add', n: 1 });
  s.tell(remote, { kind: 'crash', how: 'throw' });
  await restartedRemote;
  t.equal(s.restartCounts().get('counter'), 1, 'the worker’s restart is counted once its event reached the main thread');
  t.equal(await get(s, remote), 5, 'the worker actor was restarted with fresh state');

  s.tell(local, { kind: 'crash', how: 'throw' });
  t.equal(await get(s, local), 7, 'the main-thread actor was restarted');
  t.equal(s.restartCounts().get('counter'), 2, 'restarts of one name on every host add up');
  t.equal(s.restartCounts().get(HOST_RESTARTS_NAME), undefined, 'no host restarted');

  const stats = await s.stats();
  t.same(stats.map((h) => h.restarts), [1, 1], 'and each host’s own stats agree');
});

t.test('a worker host restart counts under HOST_RESTARTS_NAME; counts survive it', async (t) => {
  const s = await system(t, { workers: 1 });
  t.equal(HOST_RESTARTS_NAME, 'host');
  const victim = await s.spawn(1, counter, { start: 0 });
  const restartedActor = nextEvent(s, 'supervision', (e) => e.directive === 'restart');
  s.tell(victim, { kind: 'crash', how: 'throw' });
  await restartedActor;

  for (const how of ['exit', 'terminate'] as const) {
    const restarted = nextEvent(s, 'host-restarted', (e) => e.host === 1);
    if (how === 'terminate') await s.killHost(1);
    else s.tell(victim, { kind: 'crash', how });
    await restarted;
  }
  t.same(Object.fromEntries(s.restartCounts()), { counter: 1, host: 2 }, 'two host restarts; the actor count kept across them');
  t.equal(s.counters.hostRestarts, 2, 'the same number as the system’s host counter');
  t.equal(await get(s, victim), 0, 'the re-created actor is not counted as a supervision restart');
});

t.test('a live view: a count read earlier moves on with later restarts', async (t) => {
  const s = await system(t, { workers: 0 });
  const counts = s.restartCounts();
  const ref = s.spawnLocal(thrower('flaky', 'restart'));
  s.tell(ref, { kind: 'throw' });
  await s.mainIdle();
  t.equal(counts.get('flaky'), 1);
  s.tell(ref, { kind: 'throw' });
  await s.mainIdle();
  t.equal(counts.get('flaky'), 2, 'the same map, read again');
});
