/**
 * `/v1/agent`: node agents register their nodes, heartbeat, and report attempts starting and ending; the
 * server pushes `start` and `kill` through the agent hub (PROTOCOL.md). One connection may carry many
 * nodes (a simulated fleet multiplexes thousands), and either side may wrap frames in a `batch`.
 *
 * Registering, in order:
 * 1. Who may: the token must name the node (admins any), and a node held by another live connection is
 *    refused unless that connection has the same token (the agent reconnecting: the old one is closed).
 * 2. The node joins (durably; a rejoin with changed capacity or labels updates it) and is alive again.
 * 3. The ends the agent had not had acknowledged are applied, then what it runs is reconciled with what the
 *    node holds live (core.reconcileNode): reported attempts not live here are listed in the reply's
 *    `kill`; live ones the agent neither runs nor reported ended are lost.
 * 4. The reply goes out, then whatever was pushed for the node meanwhile (held, so the agent hears
 *    `registered` before any `start`), except frames about the attempts the registration ended.
 *
 * Reports (`started`, `ended`) are checked by the scheduler against the attempt's node; `ended` is
 * acknowledged (`acked`) once durable, through the agent hub. A frame's reports go to the scheduler as one
 * message, in order (see `handle`). Chunks of ended attempts' output (`output`)
 * go to the output keeper when the attempt ran on the shipping node, and are answered `output-stored`.
 */
import type { TemplatedApp, WebSocket } from 'uWebSockets.js';
import { formatProblem, validateNode } from '../model/index.js';
import type { AgentReport, TaskEndReport } from '../scheduler/index.js';
import type { AgentLink } from './agent-hub.js';
import { AgentLink as Link } from './agent-hub.js';
import type { ApiError } from './api-error.js';
import { apiError, fromThrown } from './api-error.js';
import type { Principal } from './auth.js';
import { allows, mayRegister } from './auth.js';
import { decodeFrame } from './codec.js';
import type { GatewayContext } from './context.js';
import { socketBehaviour, unavailableError } from './context.js';
import type { AgentEnd, AgentRequest, RequestId } from './frames.js';
import { readAgentRequest, readBatch } from './frames.js';
import type { SocketState } from './socket.js';
import { CLOSE_REPLACED, closeSocket, errorFrame, send } from './socket.js';

export interface AgentSocket extends SocketState {
  readonly principal: Principal;
  link: AgentLink | undefined;
}

type Ws = WebSocket<AgentSocket>;

/** What one frame's requests gather as they are handled, for after the frame (see `handle`). */
interface FrameWork {
  readonly reports: AgentReport[];
  readonly counts: Map<AgentRequest['kind'], number>;
}

/** Most frames in one agent batch: a fleet's heartbeats and reports of one tick fit many times over. */
export const MAX_BATCH_FRAMES = 100_000;

/** An agent's end as the scheduler records it: a `signal` with no `reason` is the reason `killed by SIGNAL`. */
function endReport(node: string, e: AgentEnd): TaskEndReport {
  const reason = e.reason ?? (e.signal !== undefined ? `killed by ${e.signal}` : undefined);
  return {
    job: e.job,
    task: e.task,
    attempt: e.attempt,
    node,
    outcome: e.outcome,
    ...(e.exitCode !== undefined ? { exitCode: e.exitCode } : {}),
    ...(reason !== undefined ? { reason } : {}),
  };
}

export function agentEndpoint(app: TemplatedApp, ctx: GatewayContext): void {
  const { limits, metrics, agents } = ctx;

  function refuse(link: AgentLink, error: ApiError, id?: RequestId): void {
    metrics.rejected(error.code);
    link.push(errorFrame(error, id));
  }

  /** Whether this connection may take `node`: refused (and false) when the token may not speak for it or another agent holds it. */
  function admit(link: AgentLink, principal: Principal, node: string, id: RequestId): boolean {
    if (!mayRegister(principal, node)) {
      refuse(link, apiError('MUSTER_ERR_FORBIDDEN', `node.name: this token may not register node ${node} (an agent token registers only the nodes its entry names)`, { field: 'node.name' }), id);
      return false;
    }
    const holder = agents.holder(node);
    if (holder && holder !== link && (holder.identity === undefined || holder.identity !== link.identity)) {
      refuse(link, apiError('MUSTER_ERR_NODE_HELD', `node.name: node ${node} is registered by another live connection with another token`, { field: 'node.name' }), id);
      return false;
    }
    return true;
  }

  async function register(link: AgentLink, principal: Principal, request: Extract<AgentRequest, { kind: 'register' }>): Promise<void> {
    const core = ctx.core()!;
    const checked = validateNode(request.node);
    if (!checked.ok) {
      const first = checked.problems[0]!;
      return refuse(link, apiError(first.code, `invalid node spec: node.${formatProblem(first)}`, { field: 'node', problems: checked.problems }), request.id);
    }
    const spec = checked.value;
    if (!admit(link, principal, spec.name, request.id)) return;
    // Attach (holding the node's frames) before joining: a start for the node may follow the join at once.
    const previous = agents.holder(spec.name);
    agents.attach(spec.name, link);
    link.hold(spec.name);
    // The same agent on a newer connection: the older one is half-dead (or about to be); it goes now.
    if (previous && previous !== link) previous.end(CLOSE_REPLACED, 'a newer connection of the same agent registered its node');
    try {
      await core.joinNode(spec);
      agents.registered(spec.name, spec.site);
      const ended = request.ended.map((e) => endReport(spec.name, e));
      const { kill, unreported } = await core.reconcileNode(spec.name, request.running, ended);
      // Live, not reported, and not on its way now (its start is not held for this registration): the
      // agent never got it or lost it. One that never started is started again (its start went astray in a
      // failover or a restart); the others end as lost, and nothing about them is sent to the agent again.
      const onTheWay = link.heldStarts(spec.name);
      const missing = unreported.filter((a) => !onTheWay.has(`${a.job}#${a.task}#${a.attempt}`));
      const lost = await core.settleUnreported(spec.name, missing, `the agent of ${spec.name} neither runs it nor reported its end (reconciled at registration)`);
      const fenceMs = agents.liveness.options.fenceMs;
      const keepBytes = ctx.outputs()?.keepBytes ?? 0;
      const reply = { kind: 'registered', id: request.id, node: spec.name, epoch: agents.epoch, heartbeatMs: agents.liveness.options.heartbeatMs, fenceMs, kill, ...(keepBytes > 0 ? { outputKeepBytes: keepBytes } : {}) };
      link.release(spec.name, reply, new Set(lost.map((a) => `${a.job}#${a.task}#${a.attempt}`)));
    } catch (err) {
      link.release(spec.name, errorFrame(fromThrown(err), request.id));
      agents.drop(spec.name, link);
    }
  }

  /**
   * A chunk of an ended attempt's output: kept when the attempt ran on the node that ships it and its job is
   * live, answered `output-stored` once written (the last chunk: once the copy is complete and readable).
   */
  async function storeOutput(link: AgentLink, request: Extract<AgentRequest, { kind: 'output' }>): Promise<void> {
    const { id, node, ...chunk } = request;
    const keeper = ctx.outputs();
    if (!keeper || keeper.keepBytes === 0) return refuse(link, apiError('MUSTER_ERR_INVALID_VALUE', 'size: this server keeps no output (its registered reply had no outputKeepBytes)', { field: 'size' }), id);
    if (chunk.size - chunk.from > keeper.keepBytes) return refuse(link, apiError('MUSTER_ERR_INVALID_VALUE', `from: the kept part [${chunk.from}, ${chunk.size}) is longer than the ${keeper.keepBytes} bytes this server keeps`, { field: 'from' }), id);
    try {
      // One lookup per piece, not the job's whole detail (an array job's tasks all ship).
      const ranOn = await ctx.core()!.attemptNode(chunk.job, chunk.task, chunk.attempt);
      if (ranOn === undefined) return refuse(link, apiError('MUSTER_ERR_UNKNOWN_JOB', `job: job ${chunk.job} has no task ${chunk.task} attempt ${chunk.attempt} in the live state (never, or the job was retired): its output is not kept`, { field: 'job' }), id);
      if (ranOn !== node) return refuse(link, apiError('MUSTER_ERR_FORBIDDEN', `node: attempt ${chunk.attempt} of job ${chunk.job} task ${chunk.task} ran on another node than ${node}`, { field: 'node' }), id);
      const written = await keeper.write(chunk);
      if (!written.ok) return refuse(link, apiError('MUSTER_ERR_INVALID_VALUE', `${written.field}: ${written.message}`, { field: written.field }), id);
      link.push({ kind: 'output-stored', id, node });
    } catch (err) {
      ctx.log.error({ err, job: chunk.job, task: chunk.task, attempt: chunk.attempt, stream: chunk.stream }, 'could not keep a chunk of output');
      refuse(link, fromThrown(err), id);
    }
  }

  /**
   * The server cannot take frames now (stopping, or its store failed): each request that waits for a reply
   * (a `register`, alone or in a batch) is refused with its id, so its agent is not left waiting; the rest
   * get one refusal without an id.
   */
  function refuseAll(link: AgentLink, frame: Readonly<Record<string, unknown>>, error: ApiError): void {
    const frames = frame['kind'] === 'batch' && Array.isArray(frame['frames']) ? (frame['frames'] as unknown[]) : [frame];
    let answered = false;
    for (const f of frames) {
      if (typeof f !== 'object' || f === null || (f as Record<string, unknown>)['kind'] !== 'register') continue;
      const read = readAgentRequest(f as Readonly<Record<string, unknown>>);
      const id = read.ok ? read.request.id : read.id;
      if (id === undefined) continue;
      refuse(link, error, id);
      answered = true;
    }
    if (!answered) refuse(link, error);
  }

  /** Whether `node` is registered on this connection; if not, the frame is refused. */
  function owns(link: AgentLink, node: string, id: RequestId | undefined): boolean {
    if (agents.holds(link, node)) return true;
    refuse(link, apiError('MUSTER_ERR_UNKNOWN_NODE', `node ${node} has not registered on this connection`, { field: 'node' }), id);
    return false;
  }

  /** The reports gathered so far leave for the scheduler as one message (and the list is emptied). */
  function sendReports(reports: AgentReport[]): void {
    if (reports.length === 0) return;
    ctx.core()!.taskReports(reports.splice(0));
  }

  /**
   * Handles one request of a connection's frame. `work.reports` gathers the frame's `started` and `ended`
   * reports (a batch of a simulated fleet carries thousands): they go to the scheduler together, in one
   * message, before any other request of the frame that reaches the scheduler (a registration, a piece of
   * output), so the scheduler sees them in the frame's order. `work.counts` tallies the requests per kind,
   * counted in the metrics once per frame.
   */
  function handle(link: AgentLink, principal: Principal, frame: Readonly<Record<string, unknown>>, work: FrameWork): void {
    const read = readAgentRequest(frame);
    if (!read.ok) return refuse(link, read.error, read.id);
    const request = read.request;
    work.counts.set(request.kind, (work.counts.get(request.kind) ?? 0) + 1);
    const { reports } = work;
    if (request.kind === 'started') {
      if (owns(link, request.node, request.id)) reports.push({ kind: 'started', job: request.job, task: request.task, attempt: request.attempt, node: request.node, ...(request.id !== undefined ? { id: request.id } : {}) });
      return;
    }
    if (request.kind === 'ended') {
      if (owns(link, request.node, request.id)) reports.push({ kind: 'ended', ...endReport(request.node, request), ...(request.id !== undefined ? { id: request.id } : {}) });
      return;
    }
    switch (request.kind) {
      case 'register':
        sendReports(reports);
        void register(link, principal, request);
        return;
      case 'heartbeat':
        for (const node of request.nodes) if (owns(link, node, request.id)) agents.heartbeat(node);
        return;
      case 'log':
        agents.logChunk(link, request.id, request.data, request.eof);
        return;
      case 'output':
        sendReports(reports);
        if (owns(link, request.node, request.id)) void storeOutput(link, request);
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
      const { principal } = ws.getUserData();
      ws.getUserData().link = new Link(
        (frame) => send(ws, frame, limits.maxUnsentBytes),
        principal.identity,
        (code, reason) => closeSocket(ws, code, reason),
      );
      opened(ws);
    },
    message(ws: Ws, message, isBinary) {
      const { link: maybeLink, principal } = ws.getUserData();
      const link = maybeLink!;
      if (!isBinary) return refuse(link, apiError('MUSTER_ERR_BAD_FRAME', 'text frames are not part of the protocol: send binary msgpack frames'));
      const decoded = decodeFrame(new Uint8Array(message), false);
      if (!decoded.ok) return refuse(link, decoded.error);
      if (ctx.phase() !== 'ready') return refuseAll(link, decoded.frame, unavailableError(ctx));
      const work: FrameWork = { reports: [], counts: new Map() };
      if (decoded.frame['kind'] !== 'batch') handle(link, principal, decoded.frame, work);
      else {
        const batch = readBatch(decoded.frame, MAX_BATCH_FRAMES);
        if (!batch.ok) return refuse(link, batch.error, batch.id);
        for (const frame of batch.request) handle(link, principal, frame, work);
      }
      sendReports(work.reports);
      for (const [kind, count] of work.counts) metrics.request('agent', kind, count);
    },
    close(ws) {
      closed(ws);
      const { link } = ws.getUserData();
      if (link) agents.detach(link);
    },
  });
}
