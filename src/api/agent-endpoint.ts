/**
 * `/v1/agent`: node agents register their nodes, heartbeat, and report attempts starting and ending; the
 * server pushes `start` and `kill` through the agent hub (PROTOCOL.md). One connection may carry many
 * nodes (a simulated fleet multiplexes thousands), and either side may wrap frames in a `batch`.
 *
 * Registering is joining plus reconciling: the node joins (durably; a rejoin with changed capacity or
 * labels updates it), then every attempt the agent reports running that the scheduler does not hold live
 * on that node is listed in the reply's `kill` (the agent kills it and reports nothing for it). Frames the
 * scheduler pushes to the node meanwhile are held until the reply has gone, so the agent hears
 * `registered` before any `start`.
 */
import type { TemplatedApp, WebSocket } from 'uWebSockets.js';
import { formatProblem, validateNode } from '../model/index.js';
import type { AgentLink } from './agent-hub.js';
import { AgentLink as Link } from './agent-hub.js';
import type { ApiError } from './api-error.js';
import { apiError, fromThrown } from './api-error.js';
import type { Principal } from './auth.js';
import { allows } from './auth.js';
import { decodeFrame } from './codec.js';
import type { GatewayContext } from './context.js';
import { notReadyError, socketBehaviour } from './context.js';
import type { AgentRequest, RequestId } from './frames.js';
import { readAgentRequest, readBatch } from './frames.js';
import type { SocketState } from './socket.js';
import { errorFrame, send } from './socket.js';

export interface AgentSocket extends SocketState {
  readonly principal: Principal;
  link: AgentLink | undefined;
}

type Ws = WebSocket<AgentSocket>;

/** Most frames in one agent batch: a fleet's heartbeats and reports of one tick fit many times over. */
export const MAX_BATCH_FRAMES = 100_000;

export function agentEndpoint(app: TemplatedApp, ctx: GatewayContext): void {
  const { limits, metrics, agents } = ctx;

  function refuse(link: AgentLink, error: ApiError, id?: RequestId): void {
    metrics.rejected(error.code);
    link.push(errorFrame(error, id));
  }

  async function register(link: AgentLink, request: Extract<AgentRequest, { kind: 'register' }>): Promise<void> {
    const core = ctx.core()!;
    const checked = validateNode(request.node);
    if (!checked.ok) {
      const first = checked.problems[0]!;
      return refuse(link, apiError(first.code, `invalid node spec: node.${formatProblem(first)}`, { field: 'node', problems: checked.problems }), request.id);
    }
    const spec = checked.value;
    // Attach (holding the node's frames) before joining: a start for the node may follow the join at once.
    agents.attach(spec.name, link);
    link.hold(spec.name);
    try {
      await core.joinNode(spec);
      agents.registered(spec.name, spec.site, Date.now());
      const liveAttempts = (await core.nodeAttempts(spec.name)) ?? [];
      const key = (a: { job: string; task: number; attempt: number }): string => `${a.job}#${a.task}#${a.attempt}`;
      const live = new Set(liveAttempts.map(key));
      const reported = new Set(request.running.map(key));
      const kill = request.running.filter((r) => !live.has(key(r))).map(({ job, task, attempt }) => ({ job, task, attempt }));
      // The other way round: an attempt the scheduler holds live on this node that the agent does not run
      // (it restarted, or the start never reached it) is gone; it ends as lost, and is retried.
      for (const a of liveAttempts) {
        if (!reported.has(key(a))) core.taskEnded({ job: a.job, task: a.task, attempt: a.attempt, node: spec.name, outcome: 'lost', reason: `the agent of ${spec.name} does not run it (reconciled at registration)` });
      }
      link.release(spec.name, { kind: 'registered', id: request.id, node: spec.name, epoch: agents.epoch, heartbeatMs: agents.liveness.options.heartbeatMs, kill });
    } catch (err) {
      link.release(spec.name, errorFrame(fromThrown(err), request.id));
      agents.drop(spec.name, link);
    }
  }

  /** Whether `node` is registered on this connection; if not, the frame is refused. */
  function owns(link: AgentLink, node: string, id: RequestId | undefined): boolean {
    if (agents.holds(link, node)) return true;
    refuse(link, apiError('MUSTER_ERR_UNKNOWN_NODE', `node ${node} has not registered on this connection`, { field: 'node' }), id);
    return false;
  }

  function handle(link: AgentLink, frame: Readonly<Record<string, unknown>>): void {
    const read = readAgentRequest(frame);
    if (!read.ok) return refuse(link, read.error, read.id);
    const request = read.request;
    metrics.request('agent', request.kind);
    const core = ctx.core()!;
    switch (request.kind) {
      case 'register':
        void register(link, request);
        return;
      case 'heartbeat': {
        const now = Date.now();
        for (const node of request.nodes) if (owns(link, node, request.id)) agents.heartbeat(node, now);
        return;
      }
      case 'started':
        if (owns(link, request.node, request.id)) core.taskStarted({ job: request.job, task: request.task, attempt: request.attempt, node: request.node });
        return;
      case 'ended': {
        if (!owns(link, request.node, request.id)) return;
        const reason = request.reason ?? (request.signal !== undefined ? `killed by ${request.signal}` : undefined);
        core.taskEnded({
          job: request.job,
          task: request.task,
          attempt: request.attempt,
          node: request.node,
          outcome: request.outcome,
          ...(request.exitCode !== undefined ? { exitCode: request.exitCode } : {}),
          ...(reason !== undefined ? { reason } : {}),
        });
        return;
      }
      case 'log':
        agents.logChunk(link, request.id, request.data, request.eof);
        return;
      case 'error':
        ctx.log.warn({ node: request.node, code: request.code, id: request.id }, `an agent refused a command: ${request.message}`);
        return;
    }
  }

  const { opened, closed, ...behaviour } = socketBehaviour<AgentSocket>(ctx, 'agent', (p) => allows(p, 'agent'), (principal) => ({ closed: false, principal, link: undefined }));
  app.ws<AgentSocket>('/v1/agent', {
    ...behaviour,
    open(ws) {
      ws.getUserData().link = new Link((frame) => send(ws, frame, limits.maxUnsentBytes));
      opened(ws);
    },
    message(ws: Ws, message, isBinary) {
      const link = ws.getUserData().link!;
      if (!isBinary) return refuse(link, apiError('MUSTER_ERR_BAD_FRAME', 'text frames are not part of the protocol: send binary msgpack frames'));
      const phase = ctx.phase();
      if (phase !== 'ready') return refuse(link, notReadyError(phase));
      const decoded = decodeFrame(new Uint8Array(message), false);
      if (!decoded.ok) return refuse(link, decoded.error);
      if (decoded.frame['kind'] !== 'batch') return handle(link, decoded.frame);
      const batch = readBatch(decoded.frame, MAX_BATCH_FRAMES);
      if (!batch.ok) return refuse(link, batch.error, batch.id);
      for (const frame of batch.request) handle(link, frame);
    },
    close(ws) {
      closed(ws);
      const { link } = ws.getUserData();
      if (link) agents.detach(link);
    },
  });
}
