/**
 * How a real `muster agent` ships an ended attempt's output (PROTOCOL.md, `output`), seen from a scripted
 * server: only the tail the server keeps, in pieces of at most 256 KiB, one in flight at a time, with
 * heartbeats going on between them; a connection dropped mid-stream ships the stream again from its start
 * once registered again; a server that keeps no output is shipped nothing. Real agent processes (dist/).
 */
import { mkdtemp } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import type { WebSocket } from 'ws';
import { AgentPeer, startFrame } from './agent-peer.js';
import type { Frame } from './agent-peer.js';
import { AgentProcess, cleanUpWorkFolder, processesMentioning } from './agent-process.js';

const HEARTBEAT_MS = 200;
/** The most bytes PROTOCOL.md allows in one `output` piece. */
const PIECE_BYTES = 256 * 1024;
/** As test/agent/heartbeat-storm.test.ts: the interval plus slack for a loaded 2-core machine; suspect is 2.5 intervals. */
const MAX_GAP_MS = HEARTBEAT_MS + 600;
/** What the scripted server keeps: less than the task writes, so the head is not shipped. */
const KEEP = 64 * 2 ** 20;
/** How long the scripted server takes to answer a piece. */
const ANSWER_MS = 5;
/** What the task writes to stdout. */
const WRITTEN = 80 * 2 ** 20;

async function agentOn(t: Test, peer: AgentPeer): Promise<{ agent: AgentProcess; work: string }> {
  const work = await mkdtemp(join(tmpdir(), 'muster-shipping-'));
  cleanUpWorkFolder(t, work);
  const agent = new AgentProcess(t, ['--server', peer.url, '--token', 'agent-token-0123456789', '--name', 'n1', '--cpu', '1', '--memory', '1Gi', '--work-dir', work, '--grace', '300ms']);
  return { agent, work };
}

t.test(`${WRITTEN / 2 ** 20} MiB of output, ${KEEP / 2 ** 20} MiB kept: the tail, in bounded pieces, one in flight, heartbeats within ${MAX_GAP_MS} ms; a drop mid-stream ships it again from its start`, async (t) => {
  const peer = await AgentPeer.start({ heartbeatMs: HEARTBEAT_MS, outputKeepBytes: KEEP });
  t.teardown(() => peer.close());
  peer.ackEnds = true;
  const { agent, work } = await agentOn(t, peer);
  await peer.next('register');

  let inFlight = 0;
  let overlapped = 0;
  let answered = 0;
  /** The connection is dropped instead of answering this piece (once). */
  let dropAt: number | undefined = 20;
  peer.onFrame = (frame: Frame, socket: WebSocket) => {
    if (frame.kind !== 'output') return;
    if (inFlight > 0) overlapped++;
    inFlight++;
    if (dropAt !== undefined && answered === dropAt) {
      dropAt = undefined;
      inFlight = 0;
      socket.terminate();
      return;
    }
    // Answered a little later, as a server writing a file would: the shipment lasts a few heartbeat intervals.
    setTimeout(() => {
      inFlight--;
      answered++;
      peer.send(socket, { kind: 'output-stored', id: frame['id'], node: 'n1' });
    }, ANSWER_MS);
  };
  peer.sendLatest(startFrame('n1', 'j-1', 1, `head -c ${WRITTEN} /dev/zero | tr '\\0' 'a'; printf 'the end\\n'; printf 'err\\n' >&2`));
  const firstPiece = await peer.next('output', (f) => f['stream'] === 'stdout', 1, 60_000);
  const lastErr = await peer.next('output', (f) => f['stream'] === 'stderr' && f['last'] === true, 1, 120_000);
  const size = WRITTEN + 'the end\n'.length;

  const pieces = peer.received.filter((r) => r.frame.kind === 'output');
  const stdout = pieces.map((r) => r.frame).filter((f) => f['stream'] === 'stdout');
  t.ok(stdout.every((f) => (f['data'] as Uint8Array).length <= PIECE_BYTES), 'no piece is larger than 256 KiB');
  t.equal(overlapped, 0, 'never two pieces in flight');
  t.match(firstPiece, { job: 'j-1', task: 0, attempt: 1, size, from: size - KEEP, offset: size - KEEP }, 'only the tail the server keeps, from its start');
  const restarts = stdout.filter((f) => f['offset'] === size - KEEP).length;
  t.equal(restarts, 2, 'the stream was shipped again from its start after the drop');
  const afterDrop = stdout.slice(stdout.findIndex((f, i) => i > 0 && f['offset'] === size - KEEP));
  let offset = size - KEEP;
  const gapsAt: number[] = [];
  for (const f of afterDrop) {
    if (f['offset'] !== offset) gapsAt.push(offset);
    offset = (f['offset'] as number) + (f['data'] as Uint8Array).length;
  }
  t.same(gapsAt, [], 'the pieces after the drop are contiguous');
  t.equal(offset, size, 'up to the end of the stream');
  t.equal(Buffer.from(afterDrop.at(-1)!['data'] as Uint8Array).subarray(-8).toString(), 'the end\n', 'its last bytes are the last the task wrote');
  t.match(lastErr, { size: 4, from: 0, offset: 0, last: true }, 'then stderr, whole');
  t.equal(Buffer.from(lastErr['data'] as Uint8Array).toString(), 'err\n');
  t.equal(peer.connections, 2, 'one reconnection, after the drop');

  const shipping = pieces[0]!.at;
  const shipped = pieces.at(-1)!.at;
  const beats = peer.received.filter((r) => r.frame.kind === 'heartbeat' && r.at >= shipping && r.at <= shipped).map((r) => r.at);
  const edges = [shipping, ...beats, shipped];
  const gaps = edges.slice(1).map((at, i) => at - edges[i]!);
  // The drop itself interrupts heartbeats for the reconnection: measured on the second connection only.
  const resumed = peer.received.find((r) => r.frame.kind === 'register' && r.at > shipping)!.at;
  const lateBeats = beats.filter((at) => at > resumed);
  const lateEdges = [resumed, ...lateBeats, shipped];
  const lateGaps = lateEdges.slice(1).map((at, i) => at - lateEdges[i]!);
  t.ok(lateBeats.length >= 3, `heartbeats while shipping (${lateBeats.length} in ${Math.round(shipped - resumed)} ms)`);
  t.ok(Math.max(...lateGaps) <= MAX_GAP_MS, `the longest gap between heartbeats while shipping is ${Math.round(Math.max(...lateGaps))} ms (≤ ${MAX_GAP_MS}); all gaps: ${gaps.map(Math.round).join(', ')}`);

  await peer.next('heartbeat', () => true, peer.framesOf('heartbeat').length + 1);
  t.same(readdirSync(join(work, 'outbox')), [], 'the outbox is empty once both streams are stored');
  agent.child.kill('SIGTERM');
  t.match(await agent.exited, { code: 0 });
  t.same(processesMentioning(work), [], 'no shim or task left');
});

t.test('a server that keeps no output (no outputKeepBytes) is shipped nothing; the outbox keeps the attempt', async (t) => {
  const peer = await AgentPeer.start({ heartbeatMs: HEARTBEAT_MS });
  t.teardown(() => peer.close());
  peer.ackEnds = true;
  const { agent, work } = await agentOn(t, peer);
  await peer.next('register');
  peer.sendLatest(startFrame('n1', 'j-1', 1, 'echo hello'));
  await peer.next('ended');
  await peer.next('heartbeat', () => true, peer.framesOf('heartbeat').length + 3);
  t.same(peer.framesOf('output'), [], 'no output frame');
  t.same(readdirSync(join(work, 'outbox')), ['j-1#0#1'], 'the attempt waits in the outbox for a server that keeps output');
  agent.child.kill('SIGTERM');
  t.match(await agent.exited, { code: 0 });
  t.same(processesMentioning(work), [], 'no shim or task left');
});
