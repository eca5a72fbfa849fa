/**
 * Behaviours are tested synchronously, with no host and no thread: testKit applies the outcomes.
 */
import t from 'tap';
import { assertNever, become, defineActor, next, reply, same, stop, testKit } from '../../src/actors/index.js';
import type { ActorRef, Behaviour } from '../../src/actors/index.js';

// A small gate: closed until opened; while open it counts items and replies with the count; a private
// tick (timer) closes it again.
type GateMsg =
  | { readonly kind: 'open'; readonly forMs: number }
  | { readonly kind: 'item'; readonly replyTo: ActorRef<number> }
  | { readonly kind: 'shutdown' };
type PrivateMsg = { readonly kind: 'close-tick' };
type Msg = GateMsg | PrivateMsg;

interface State {
  readonly passed: number;
  readonly refused: number;
}

const closed: Behaviour<State, Msg> = (state, msg, ctx) => {
  switch (msg.kind) {
    case 'open':
      ctx.startTimer('close', { kind: 'close-tick' }, msg.forMs);
      return become(open, state);
    case 'item':
      return next({ ...state, refused: state.refused + 1 });
    case 'close-tick':
      return same();
    case 'shutdown':
      return stop('asked');
    default:
      return assertNever(msg);
  }
};

const open: Behaviour<State, Msg> = (state, msg) => {
  switch (msg.kind) {
    case 'open':
      return same();
    case 'item':
      return reply(msg.replyTo, state.passed + 1, { ...state, passed: state.passed + 1 });
    case 'close-tick':
      return become(closed, state);
    case 'shutdown':
      return stop('asked');
    default:
      return assertNever(msg);
  }
};

const gate = defineActor<State, Msg>({ name: 'gate', initial: () => ({ passed: 0, refused: 0 }), behaviour: closed });
const client: ActorRef<number> = { host: 9, id: 9 };

t.test('a behaviour runs synchronously through its outcomes', async (t) => {
  const kit = testKit(gate);
  kit.receive({ kind: 'item', replyTo: client });
  t.same(kit.state, { passed: 0, refused: 1 }, 'closed: refused, no reply');
  t.same(kit.takeSent(), []);

  t.equal(kit.receive({ kind: 'open', forMs: 500 }).kind, 'become');
  t.same(kit.timers.get('close'), { message: { kind: 'close-tick' }, delayMs: 500, repeat: false }, 'a private tick is scheduled');

  kit.receive({ kind: 'item', replyTo: client });
  kit.receive({ kind: 'item', replyTo: client });
  t.same(kit.takeSent(), [
    { to: client, message: 1 },
    { to: client, message: 2 },
  ], 'open: replies carry the running count');

  kit.fireTimer('close');
  t.equal(kit.timers.size, 0);
  kit.receive({ kind: 'item', replyTo: client });
  t.same(kit.state, { passed: 2, refused: 2 }, 'closed again after the tick');

  kit.receive({ kind: 'shutdown' });
  t.equal(kit.stopped, 'asked');
  t.throws(() => kit.receive({ kind: 'item', replyTo: client }), /stopped/);
});

t.test('table: outcome kinds', async (t) => {
  const cases: { name: string; msgs: Msg[]; passed: number; refused: number; stopped?: string }[] = [
    { name: 'nothing open', msgs: [{ kind: 'item', replyTo: client }], passed: 0, refused: 1 },
    { name: 'open then item', msgs: [{ kind: 'open', forMs: 1 }, { kind: 'item', replyTo: client }], passed: 1, refused: 0 },
    { name: 'tick while closed is ignored', msgs: [{ kind: 'close-tick' }, { kind: 'item', replyTo: client }], passed: 0, refused: 1 },
    { name: 'stop', msgs: [{ kind: 'shutdown' }], passed: 0, refused: 0, stopped: 'asked' },
  ];
  for (const c of cases) {
    const kit = testKit(gate);
    for (const m of c.msgs) kit.receive(m);
    t.same({ ...kit.state, stopped: kit.stopped }, { passed: c.passed, refused: c.refused, stopped: c.stopped }, c.name);
  }
});

t.test('a throwing behaviour throws into the test (supervision is the runtime’s job)', async (t) => {
  const kit = testKit(
    defineActor<null, { kind: 'x' }>({
      name: 'thrower',
      initial: () => null,
      behaviour: () => {
        throw new Error('nope');
      },
    }),
  );
  t.throws(() => kit.receive({ kind: 'x' }), /nope/);
});
