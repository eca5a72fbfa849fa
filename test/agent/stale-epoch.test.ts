/**
 * An agent refuses commands from a deposed leader: once it has seen epoch N (at registration, or on a
 * command), a `start` or `kill` of an older epoch is answered with an `error` frame
 * (`MUSTER_ERR_STALE_EPOCH`) and not carried out. The server here is a scripted WebSocket peer (a real
 * socket) that plays two leaders; the agent is the real one, with its real executor.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack, unpack } from 'msgpackr';
import t from 'tap';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { Agent } from '../../src/agent/index.js';
import { createLogger } from '../../src/log/index.js';
import { until } from '../helpers/until.js';

type Frame = Record<string, unknown> & { kind: string };

function frames(data: Buffer): Frame[] {
  const frame = unpack(data) as Frame;
  return frame.kind === 'batch' ? (frame['frames'] as Frame[]) : [frame];
}

const launch = (epoch: number, attempt: number, command = 'true') => ({
  kind: 'start',
  node: 'n1',
  epoch,
  job: 'j-1',
  task: 0,
  arrayIndex: 0,
  attempt,
  command,
  args: [],
  shell: false,
  env: {},
  resources: { cpu: 1000, memory: 64, gpu: 0, extended: {} },
});

t.test('a start or kill older than the newest epoch seen is refused and not run', async (t) => {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  t.teardown(() => server.close());
  await new Promise((r) => server.once('listening', r));
  const port = (server.address() as { port: number }).port;
  const received: Frame[] = [];
  let socket: WebSocket | undefined;
  server.on('connection', (ws) => {
    socket = ws;
    ws.on('message', (data: Buffer) => {
      for (const f of frames(data)) {
        received.push(f);
        // The current leader is epoch 5.
        if (f.kind === 'register') ws.send(pack({ kind: 'registered', id: f['id'], node: 'n1', epoch: 5, heartbeatMs: 60_000, kill: [] }));
      }
    });
  });

  const work = mkdtempSync(join(tmpdir(), 'muster-stale-'));
  const agent = new Agent({ endpoints: [`ws://127.0.0.1:${port}/v1/agent`], token: 't', name: 'n1', site: 'local', capacity: { cpu: 1000, memory: 1024, gpu: 0, extended: {} }, workDir: work, log: createLogger({ name: 'stale', level: 'silent' }) });
  t.teardown(async () => {
    await agent.stop();
    rmSync(work, { recursive: true, force: true });
  });
  await agent.start();
  await until('the registration', async () => received.some((f) => f.kind === 'register'), (x) => x);
  await until('the registered reply to land', async () => agent.link.newestEpoch, (e) => e === 5);

  // A deposed leader (epoch 4) tries to start an attempt: refused, nothing runs.
  socket!.send(pack(launch(4, 1, 'sleep')));
  const refusal = await until('a refusal', async () => received.find((f) => f.kind === 'error'), (f) => f !== undefined);
  t.equal(refusal!['code'], 'MUSTER_ERR_STALE_EPOCH');
  t.match(refusal!['message'], /epoch 4 is older than epoch 5/);
  t.same(agent.executor.running(), [], 'the stale start ran nothing');
  t.notOk(received.some((f) => f.kind === 'started'), 'and reported no start');

  // The current leader's start runs; a stale kill of it is refused; the attempt ends on its own.
  socket!.send(pack(launch(5, 2)));
  const ended = await until('the attempt to end', async () => received.find((f) => f.kind === 'ended'), (f) => f !== undefined);
  t.match(ended, { job: 'j-1', attempt: 2, outcome: 'succeeded' }, 'the epoch-5 start ran and succeeded');
  socket!.send(pack({ kind: 'kill', node: 'n1', epoch: 3, job: 'j-1', task: 0, attempt: 2, reason: 'cancel', graceMs: 100 }));
  await until('a second refusal', async () => received.filter((f) => f.kind === 'error').length, (n) => n === 2);
  t.pass('a stale kill is refused too');
});
