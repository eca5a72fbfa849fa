/**
 * The runtime on the main thread alone (no worker): supervision, watch, mailbox overflow, ask, timers.
 */
import t from 'tap';
import type { Test } from 'tap';
import { assertNever, createActorSystem, defineActor, next, reply, same, stop } from '../../src/actors/index.js';
import type { ActorRef, ActorSystem, Directive, OverflowPolicy } from '../../src/actors/index.js';
import { nextEvent, probe, quietLog, recordEvents } from './helpers.js';

async function mainOnly(t: Test): Promise<ActorSystem> {
  const system = await createActorSystem({ workers: 0, log: quietLog });
  t.teardown(() => system.shutdown());
  return system;
}

type FlakyMsg = { readonly kind: 'boom' } | { readonly kind: 'count'; readonly replyTo: ActorRef<number> } | { readonly kind: 'add' };

function flaky(decide: Directive, maxRestarts = 3) {
  return defineActor<{ n: number }, FlakyMsg>({
    name: 'flaky',
    initial: () => ({ n: 0 }),
    supervision: { decide: () => decide, maxRestarts, withinMs: 60_000 },
    behaviour: (state, msg) => {
      switch (msg.kind) {
        case 'boom':
          throw new Error('boom');
        case 'add':
          return next({ n: state.n + 1 });
        case 'count':
          return reply(msg.replyTo, state.n);
        default:
          return assertNever(msg);
      }
    },
  });
}

/** Resolves after every actor already scheduled on the main host has had its turn (the ready queue is FIFO). */
async function settle(system: ActorSystem): Promise<void> {
  const marker = probe<null>(system);
  system.tell(marker.ref, null);
  await marker.next();
}

const ask = (system: ActorSystem, ref: ActorRef<FlakyMsg>): Promise<number> => system.ask<number, FlakyMsg>(ref, (replyTo) => ({ kind: 'count', replyTo }));

t.test('supervision: restart within the budget, then stop; every decision is an event', async (t) => {
  const system = await mainOnly(t);
  const events = recordEvents(system);
  const ref = system.spawnLocal(flaky('restart', 3));
  const stopped = nextEvent(system, 'actor-stopped', (e) => e.actor.id === ref.id);
  system.tell(ref, { kind: 'add' });
  system.tell(ref, { kind: 'boom' });
  t.equal(await ask(system, ref), 0, 'a restart rebuilds the state');
  system.tell(ref, { kind: 'boom' });
  system.tell(ref, { kind: 'boom' });
  system.tell(ref, { kind: 'add' });
  t.equal(await ask(system, ref), 1, 'still alive after 3 restarts; the mailbox survived them');
  system.tell(ref, { kind: 'boom' });
  t.equal((await stopped).reason, 'restart budget exhausted');
  const decisions = events.flatMap((e) => (e.kind === 'supervision' ? [[e.directive, e.budgetExhausted, e.error.message] as const] : []));
  t.same(decisions, [
    ['restart', false, 'boom'],
    ['restart', false, 'boom'],
    ['restart', false, 'boom'],
    ['stop', true, 'boom'],
  ]);
  await t.rejects(ask(system, ref), { code: 'MUSTER_ERR_ACTOR_STOPPED' }, 'an ask to a stopped actor rejects');
});

t.test('supervision: resume keeps the state', async (t) => {
  const system = await mainOnly(t);
  const ref = system.spawnLocal(flaky('resume'));
  system.tell(ref, { kind: 'add' });
  system.tell(ref, { kind: 'boom' });
  system.tell(ref, { kind: 'add' });
  t.equal(await ask(system, ref), 2);
});

t.test('supervision: escalate fails the parent, whose own directive applies', async (t) => {
  const system = await mainOnly(t);
  const events = recordEvents(system);
  type ParentMsg = { readonly kind: 'child'; readonly replyTo: ActorRef<ActorRef<FlakyMsg>> } | { readonly kind: 'starts'; readonly replyTo: ActorRef<number> };
  let starts = 0;
  const parent = system.spawnLocal(
    defineActor<{ child: ActorRef<FlakyMsg> }, ParentMsg>({
      name: 'parent',
      initial: (ctx) => {
        starts++;
        return { child: ctx.spawn(flaky('escalate')) };
      },
      behaviour: (state, msg) => {
        switch (msg.kind) {
          case 'child':
            return reply(msg.replyTo, state.child);
          case 'starts':
            return reply(msg.replyTo, starts);
          default:
            return assertNever(msg);
        }
      },
    }),
  );
  const child = await system.ask<ActorRef<FlakyMsg>, ParentMsg>(parent, (replyTo) => ({ kind: 'child', replyTo }));
  system.tell(child, { kind: 'boom' });
  t.equal(await system.ask<number, ParentMsg>(parent, (replyTo) => ({ kind: 'starts', replyTo })), 2, 'the parent restarted (default directive)');
  const newChild = await system.ask<ActorRef<FlakyMsg>, ParentMsg>(parent, (replyTo) => ({ kind: 'child', replyTo }));
  t.not(newChild.id, child.id, 'with a new child');
  t.same(
    events.flatMap((e) => (e.kind === 'supervision' ? [`${e.name}:${e.directive}`] : [])),
    ['flaky:escalate', 'parent:restart'],
  );
});

t.test('watch: a watcher gets its termination message, on the system lane', async (t) => {
  const system = await mainOnly(t);
  type WatcherMsg = { readonly kind: 'down'; readonly who: string };
  const seen = probe<WatcherMsg>(system);
  const target = system.spawnLocal(flaky('stop'));
  system.spawnLocal(
    defineActor<null, WatcherMsg>({
      name: 'watcher',
      initial: (ctx) => {
        ctx.watch(target, { kind: 'down', who: 'flaky' });
        return null;
      },
      behaviour: (_s, msg, ctx) => {
        ctx.tell(seen.ref, msg);
        return stop();
      },
    }),
  );
  system.tell(target, { kind: 'boom' }); // directive stop
  t.same(await seen.next(), { kind: 'down', who: 'flaky' });
});

for (const overflow of ['reject', 'drop-oldest'] satisfies OverflowPolicy[]) {
  t.test(`mailbox overflow at run time: ${overflow}`, async (t) => {
    const system = await mainOnly(t);
    const events = recordEvents(system);
    type Msg = { readonly kind: 'item'; readonly n: number } | { readonly kind: 'list'; readonly replyTo: ActorRef<number[]> };
    const ref = system.spawnLocal(
      defineActor<number[], Msg>({
        name: 'bounded',
        initial: () => [],
        mailbox: { capacity: 3, overflow },
        behaviour: (seen, msg) => (msg.kind === 'item' ? (seen.push(msg.n), same()) : reply(msg.replyTo, [...seen])),
      }),
    );
    // Plain code runs to completion before the actor's turn: all five land in the mailbox (or not) first.
    for (let n = 0; n < 5; n++) system.tell(ref, { kind: 'item', n });
    const list = system.ask<number[], Msg>(ref, (replyTo) => ({ kind: 'list', replyTo }));
    if (overflow === 'reject') {
      await t.rejects(list, { code: 'MUSTER_ERR_MAILBOX_FULL' }, 'the ask request itself is refused');
      await settle(system); // let the actor take its turn and empty its mailbox
      t.same(await system.ask<number[], Msg>(ref, (replyTo) => ({ kind: 'list', replyTo })), [0, 1, 2], 'the first three were kept');
    } else {
      t.same(await list, [3, 4], 'the oldest were dropped: the ask came in last and pushed out item 2');
    }
    const dead = events.filter((e) => e.kind === 'dead-letter');
    t.equal(dead.length, 3, 'each refused or dropped message is a dead letter');
    t.ok(dead.every((e) => e.kind === 'dead-letter' && e.code === 'MUSTER_ERR_MAILBOX_FULL'));
  });
}

t.test('ask times out when no reply comes', async (t) => {
  const system = await mainOnly(t);
  const silent = system.spawnLocal(defineActor<null, { kind: 'q'; replyTo: ActorRef<number> }>({ name: 'silent', initial: () => null, behaviour: () => same() }));
  await t.rejects(system.ask<number, { kind: 'q'; replyTo: ActorRef<number> }>(silent, (replyTo) => ({ kind: 'q', replyTo }), 30), { code: 'MUSTER_ERR_ASK_TIMEOUT' });
  t.equal((await system.stats())[0]?.pendingAsks, 0, 'the reply slot is released');
});

t.test('timers: a repeating private tick until cancelled', async (t) => {
  const system = await mainOnly(t);
  type Msg = { readonly kind: 'tick' };
  const seen = probe<number>(system);
  system.spawnLocal(
    defineActor<{ n: number }, Msg>({
      name: 'ticker',
      initial: (ctx) => {
        ctx.startTimer('t', { kind: 'tick' }, 1, true);
        return { n: 0 };
      },
      behaviour: (state, _msg, ctx) => {
        ctx.tell(seen.ref, ++state.n);
        if (state.n === 3) ctx.cancelTimer('t');
        return same();
      },
    }),
  );
  t.same([await seen.next(), await seen.next(), await seen.next()], [1, 2, 3]);
});

t.test('throughput: a busy actor yields to the others between turns', async (t) => {
  const system = await mainOnly(t);
  const order: string[] = [];
  const make = (name: string) =>
    system.spawnLocal(defineActor<null, { kind: 'x' }>({ name, initial: () => null, throughput: 2, behaviour: () => (order.push(name), same()) }));
  const a = make('a');
  const b = make('b');
  for (let i = 0; i < 4; i++) system.tell(a, { kind: 'x' });
  for (let i = 0; i < 4; i++) system.tell(b, { kind: 'x' });
  await settle(system);
  t.same(order, ['a', 'a', 'b', 'b', 'a', 'a', 'b', 'b']);
});
