/**
 * A busy agent never goes quiet: a storm of starts (thousands in one frame, as a server with a long queue
 * sends to a node with free slots) must not delay its heartbeats. Starts are queued and spawned a few per
 * turn of the event loop, so the heartbeat timer keeps its turns. Measured where it matters: the gaps
 * between heartbeat frames a scripted server receives from a real `muster agent` process (dist/).
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { until } from '../helpers/until.js';
import { AgentPeer, startFrame } from './agent-peer.js';
import { AgentProcess, cleanUpWorkFolder, processesMentioning } from './agent-process.js';

const HEARTBEAT_MS = 200;
/** Starts in one batch: thousands queued behind free slots. */
const STARTS = 2_000;
/**
 * The longest gap allowed between two heartbeats: the interval plus 600 ms of slack for a loaded 2-core
 * machine (other tests, the tasks themselves). The server calls a node suspect after 2.5 heartbeats by
 * default; a starved agent went silent for seconds.
 */
const MAX_GAP_MS = HEARTBEAT_MS + 600;

t.test(`a storm of ${STARTS} starts does not delay heartbeats past ${MAX_GAP_MS} ms`, async (t) => {
  const peer = await AgentPeer.start({ heartbeatMs: HEARTBEAT_MS });
  peer.ackEnds = true;
  const work = await mkdtemp(join(tmpdir(), 'muster-storm-'));
  t.teardown(() => peer.close());
  cleanUpWorkFolder(t, work);
  const agent = new AgentProcess(t, ['--server', peer.url, '--token', 'agent-token-0123456789', '--name', 'n1', '--cpu', '500', '--memory', '64Gi', '--work-dir', work], { MUSTER_LOG_LEVEL: 'warn' });
  await peer.next('register');
  await peer.next('heartbeat');
  const from = peer.received.length;
  const frames = Array.from({ length: STARTS }, (_, i) => startFrame('n1', `storm-${i}`, 1, 'exit 0'));
  peer.sendLatest({ kind: 'batch', frames });
  await until('every attempt to end', async () => peer.framesOf('ended').length, (n) => n >= STARTS, 180_000);
  await peer.next('heartbeat', () => true, peer.framesOf('heartbeat').length + 1);

  const beats = peer.received.slice(from).filter((r) => r.frame.kind === 'heartbeat').map((r) => r.at);
  const gaps = beats.slice(1).map((at, i) => at - beats[i]!);
  const worst = Math.max(...gaps);
  const spanS = (beats.at(-1)! - beats[0]!) / 1000;
  t.comment(`${STARTS} attempts ran in ${spanS.toFixed(1)} s; ${beats.length} heartbeats, gaps median ${median(gaps).toFixed(0)} ms, worst ${worst.toFixed(0)} ms`);
  t.ok(beats.length >= spanS * (1000 / HEARTBEAT_MS) * 0.7, 'heartbeats kept coming throughout');
  t.ok(worst <= MAX_GAP_MS, `the worst gap (${worst.toFixed(0)} ms) is within ${MAX_GAP_MS} ms`);
  t.match(peer.framesOf('ended')[0], { outcome: 'succeeded' });
  agent.child.kill('SIGTERM');
  await agent.exited;
  t.same(processesMentioning(work), [], 'nothing of the work folder is left');
});

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}
