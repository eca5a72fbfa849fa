/**
 * An agent pings on a period of its own (PROTOCOL.md, "Fence"): on a fast heartbeat it does not ping at
 * every tick (a ping, a pong and two `send()`s per node per tick was most of the server's CPU at 2,000
 * agents), and its silence bound follows the ping period, not the tick (five 10 ms ticks, 50 ms, was
 * shorter than one slow registration round and threw a 10,000-node fleet into a reconnection storm).
 * Real sockets: the link of a simulated fleet against a scripted peer.
 */
import t from 'tap';
import type { Test } from 'tap';
import { SimFleet } from '../../src/agent/index.js';
import { createLogger } from '../../src/log/index.js';
import { AgentPeer } from './agent-peer.js';

const quiet = createLogger({ name: 'ping-period-test', level: 'silent' });

async function fleetOn(t: Test, peer: AgentPeer): Promise<SimFleet> {
  const fleet = new SimFleet({ endpoints: [peer.agentUrl], token: 't', nodes: 2, sites: ['local'], connections: 1, log: quiet });
  t.teardown(() => fleet.stop());
  await fleet.start();
  await peer.next('register', () => true, 2);
  return fleet;
}

t.test('a 20 ms heartbeat with a 4 s fence pings about once a second, not at every tick', async (t) => {
  const peer = await AgentPeer.start({ heartbeatMs: 20, fenceMs: 4_000 });
  t.teardown(() => peer.close());
  await fleetOn(t, peer);
  const heartbeat = await peer.next('heartbeat');
  const from = peer.received.find((r) => r.frame === heartbeat)!.at;
  const last = await peer.next('heartbeat', () => true, 150);
  const to = peer.received.find((r) => r.frame === last)!.at;
  const pings = peer.pings.filter((at) => at >= from && at <= to).length;
  // The period is min(1 s, fence ÷ 4) = 1 s; a ping goes out once 990 ms (less half a tick) have passed.
  const most = Math.floor((to - from) / 990) + 1;
  t.comment(`150 heartbeats in ${(to - from).toFixed(0)} ms, ${pings} pings`);
  t.ok(pings <= most, `${pings} pings in ${(to - from).toFixed(0)} ms: at most ${most} (it was one per tick)`);
  t.equal(peer.connections, 1, 'one connection throughout');
});

t.test('a fence of twice the heartbeat still pings at every tick (a quarter of the fence is shorter)', async (t) => {
  const peer = await AgentPeer.start({ heartbeatMs: 100, fenceMs: 200 });
  t.teardown(() => peer.close());
  await fleetOn(t, peer);
  const first = peer.pings.length;
  const beats = peer.framesOf('heartbeat').length;
  await peer.next('heartbeat', () => true, beats + 10);
  // The ping goes out right after the tick's heartbeat: wait for the tenth's.
  await new Promise<void>((resolve) => {
    const look = (): void => void (peer.pings.length >= first + 10 ? resolve() : setTimeout(look, 10));
    look();
  });
  t.ok(peer.pings.length - first >= 10, 'a ping per heartbeat');
});

t.test('a server that answers nothing for many fast ticks is not taken for dead', async (t) => {
  // No fence (an older server): the silence bound alone decides; 5 ping periods of 1 s, not 5 ticks of 10 ms.
  const peer = await AgentPeer.start({ heartbeatMs: 10 });
  t.teardown(() => peer.close());
  await fleetOn(t, peer);
  peer.answering = false;
  const beats = peer.framesOf('heartbeat').length;
  await peer.next('heartbeat', () => true, beats + 30);
  t.equal(peer.connections, 1, 'still the first connection after 30 unanswered ticks (the old bound was 5)');
  peer.answering = true;
});

t.test('a fence that is no multiple of four (1,001 ms) gives a whole ping period', async (t) => {
  // A fractional period once made the silence check's BigInt throw on the first tick: the agent crashed.
  const peer = await AgentPeer.start({ heartbeatMs: 100, fenceMs: 1_001 });
  t.teardown(() => peer.close());
  await fleetOn(t, peer);
  const beats = peer.framesOf('heartbeat').length;
  await peer.next('heartbeat', () => true, beats + 10);
  t.equal(peer.connections, 1, 'ten ticks on the first connection');
});
