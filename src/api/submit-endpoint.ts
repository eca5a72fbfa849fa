/**
 * `/v1/submit`: tenants submit batches of jobs, cancel them and watch their events (PROTOCOL.md).
 *
 * Per frame, on the main thread, in this order: decode (structural scan, then msgpackr), read the request
 * (fields, types, limits), authorise, rate-limit, then act. A refusal at any step answers with an `error`
 * frame and writes nothing; the connection stays open. Submissions and cancellations are answered once
 * durable; several may be in flight on one connection, and their replies come in the order they finish.
 */
import type { TemplatedApp, WebSocket } from 'uWebSockets.js';
import type { ApiError } from './api-error.js';
import { apiError, fromThrown } from './api-error.js';
import type { Principal } from './auth.js';
import { allows, authorize } from './auth.js';
import { decodeFrame } from './codec.js';
import type { GatewayContext } from './context.js';
import { socketBehaviour, unavailableError } from './context.js';
import type { ClientRequest, RequestId } from './frames.js';
import { readClientRequest } from './frames.js';
import type { JobEvent } from './job-events.js';
import { JOBS_PER_REQUEST_UNIT, MAX_WATCHES_PER_CONNECTION } from './limits.js';
import type { SocketState } from './socket.js';
import { errorFrame, send } from './socket.js';
import { cancelJobs, completeSubmit, isPrepared, prepareSubmit } from './submissions.js';
import type { Watch } from './watch-hub.js';

export interface SubmitSocket extends SocketState {
  readonly principal: Principal;
  readonly watches: Map<RequestId, Watch>;
}

type Ws = WebSocket<SubmitSocket>;

export function submitEndpoint(app: TemplatedApp, ctx: GatewayContext): void {
  const { limits, metrics } = ctx;
  const reply = (ws: Ws, frame: unknown): boolean => send(ws, frame, limits.maxUnsentBytes);
  const refuse = (ws: Ws, error: ApiError, id?: RequestId): void => {
    metrics.rejected(error.code);
    reply(ws, errorFrame(error, id));
  };

  function onSubmit(ws: Ws, request: Extract<ClientRequest, { kind: 'submit' }>, jobSizes: readonly number[] | undefined, received: number): void {
    const core = ctx.core()!;
    const prepared = prepareSubmit(ws.getUserData().principal, request, jobSizes, limits, ctx.rate);
    if (!isPrepared(prepared)) {
      metrics.submitted('refused', request.jobs.length);
      return refuse(ws, prepared, request.id);
    }
    metrics.submitted('invalid', request.jobs.length - prepared.specs.length);
    completeSubmit(core, prepared).then(
      (results) => {
        let existing = 0;
        for (const r of results) if (r.ok && r.existing) existing++;
        metrics.submitted('existing', existing);
        metrics.submitted('accepted', prepared.specs.length - existing);
        metrics.acknowledged((performance.now() - received) / 1000);
        reply(ws, { kind: 'submitted', id: request.id, results });
      },
      (err: unknown) => refuse(ws, fromThrown(err), request.id),
    );
  }

  function onCancel(ws: Ws, request: Extract<ClientRequest, { kind: 'cancel' }>): void {
    cancelJobs(ctx.core()!, ws.getUserData().principal, request.jobs).then(
      (results) => (Array.isArray(results) ? reply(ws, { kind: 'cancelled', id: request.id, results }) : refuse(ws, results as ApiError, request.id)),
      (err: unknown) => refuse(ws, fromThrown(err), request.id),
    );
  }

  function onWatch(ws: Ws, request: Extract<ClientRequest, { kind: 'watch' }>): void {
    const state = ws.getUserData();
    const hub = ctx.hub()!;
    const { principal } = state;
    if (request.filter.tenant !== undefined && principal.role === 'submitter' && request.filter.tenant !== principal.tenant) {
      return refuse(ws, apiError('MUSTER_ERR_FORBIDDEN', 'a submitter may watch only its own tenant', { field: 'filter.tenant' }), request.id);
    }
    if (state.watches.has(request.id)) return refuse(ws, apiError('MUSTER_ERR_INVALID_VALUE', 'id: a watch with this id is active on this connection', { field: 'id' }), request.id);
    if (state.watches.size >= MAX_WATCHES_PER_CONNECTION) {
      return refuse(ws, apiError('MUSTER_ERR_INVALID_VALUE', `a connection may hold at most ${MAX_WATCHES_PER_CONNECTION} watches`), request.id);
    }
    const deliver = (events: JobEvent[]): void => void reply(ws, { kind: 'events', watch: request.id, events });
    const subscribed = hub.subscribe(principal, request.filter, request.from, deliver);
    if (!subscribed.ok) {
      const message = `cannot resume after seq ${request.from}: the server keeps events after seq ${subscribed.oldest} (re-read state, then watch without from)`;
      return refuse(ws, apiError('MUSTER_ERR_WATCH_GAP', message, { oldest: subscribed.oldest }), request.id);
    }
    state.watches.set(request.id, subscribed.watch);
    if (!reply(ws, { kind: 'watching', id: request.id, seq: subscribed.seq })) return;
    if (subscribed.replay.length > 0) deliver(subscribed.replay);
  }

  function onUnwatch(ws: Ws, request: Extract<ClientRequest, { kind: 'unwatch' }>): void {
    const state = ws.getUserData();
    const watch = state.watches.get(request.watch);
    if (!watch) return refuse(ws, apiError('MUSTER_ERR_INVALID_VALUE', 'watch: no watch with this id on this connection', { field: 'watch' }), request.id);
    ctx.hub()?.unsubscribe(watch);
    state.watches.delete(request.watch);
    reply(ws, { kind: 'unwatched', id: request.id });
  }

  const { opened, closed, ...behaviour } = socketBehaviour<SubmitSocket>(
    ctx,
    'submit',
    (p) => allows(p, 'submit') || allows(p, 'watch'),
    (principal) => ({ closed: false, principal, watches: new Map() }),
  );
  app.ws<SubmitSocket>('/v1/submit', {
    ...behaviour,
    open: opened,
    message(ws, message, isBinary) {
      const received = performance.now();
      if (!isBinary) return refuse(ws, apiError('MUSTER_ERR_BAD_FRAME', 'text frames are not part of the protocol: send binary msgpack frames'));
      const bytes = new Uint8Array(message);
      const decoded = decodeFrame(bytes, bytes.length > limits.maxSpecBytes);
      if (!decoded.ok) return refuse(ws, decoded.error);
      const read = readClientRequest(decoded.frame, limits);
      // Refused with the request's id, so a client waiting for its reply gets it (a stopping server, a failed store).
      if (ctx.phase() !== 'ready') return refuse(ws, unavailableError(ctx), read.ok ? read.request.id : read.id);
      if (!read.ok) return refuse(ws, read.error, read.id);
      const request = read.request;
      metrics.request('submit', request.kind);
      if (request.kind === 'submit') return onSubmit(ws, request, decoded.jobSizes, received);
      const { principal } = ws.getUserData();
      const denied = authorize(principal, request.kind === 'cancel' ? 'cancel' : 'watch');
      if (denied) return refuse(ws, denied, request.id);
      const taken = ctx.rate.take(principal.tenant, 1 + (request.kind === 'cancel' ? request.jobs.length / JOBS_PER_REQUEST_UNIT : 0));
      if (!taken.ok) return refuse(ws, apiError('MUSTER_ERR_RATE_LIMITED', `tenant ${principal.tenant} is past its request rate; retry in ${taken.retryAfterMs} ms`, { retryAfterMs: taken.retryAfterMs }), request.id);
      switch (request.kind) {
        case 'cancel':
          return onCancel(ws, request);
        case 'watch':
          return onWatch(ws, request);
        case 'unwatch':
          return onUnwatch(ws, request);
      }
    },
    close(ws) {
      closed(ws);
      const { watches } = ws.getUserData();
      for (const watch of watches.values()) ctx.hub()?.unsubscribe(watch);
      watches.clear();
    },
  });
}
