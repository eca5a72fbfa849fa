/**
 * What the endpoints and routes share: the limits, the token table, the rate limiter, the metrics, the
 * watch hub and agent hub, and the scheduling core once the server has recovered. One per gateway.
 */
import type { HttpRequest, HttpResponse, WebSocket, WebSocketBehavior } from 'uWebSockets.js';
import type { Logger } from '../log/index.js';
import type { SchedulerCore } from '../scheduler/index.js';
import type { ApiError } from './api-error.js';
import { apiError, statusLine } from './api-error.js';
import type { AgentHub } from './agent-hub.js';
import type { Principal, TokenTable } from './auth.js';
import { isApiError } from './auth.js';
import type { GatewayLimits } from './limits.js';
import type { GatewayMetrics } from './metrics.js';
import type { OutputKeeper } from './output-keeper.js';
import type { RateLimiter } from './rate-limit.js';
import type { SocketState } from './socket.js';
import { DISABLED } from './uws.js';
import type { WatchHub } from './watch-hub.js';

/**
 * `starting`: recovering (only health routes answer); `ready`: serving; `standby`: a replica that does not
 * lead (health, metrics and `GET /v1/leader` answer; everything else is refused `MUSTER_ERR_NOT_LEADER`
 * with the leader's URL); `stopping`: refusing new work; `failed`: the event store failed: everything is
 * refused (503 `MUSTER_ERR_STORE_FAILED`, health routes too) until the process exits for its supervisor
 * to restart it.
 */
export type GatewayPhase = 'starting' | 'ready' | 'standby' | 'stopping' | 'failed';

/** The leader as a replica knows it (from the election). */
export interface KnownLeader {
  readonly url: string;
  readonly epoch: number;
}

/**
 * How long a client waits before trying again after `MUSTER_ERR_NOT_LEADER` (clients poll at this pace, with
 * up to half of it again as jitter, while an election is on: a new leader serves about 2.1 s after the old one
 * died, and a slower poll finds it later; bench failover).
 */
export const NOT_LEADER_RETRY_AFTER_MS = 100;

export interface GatewayContext {
  readonly limits: GatewayLimits;
  readonly tokens: TokenTable;
  readonly rate: RateLimiter;
  readonly metrics: GatewayMetrics;
  readonly agents: AgentHub;
  readonly log: Logger;
  /** This server's own URL. */
  readonly url: () => string;
  phase(): GatewayPhase;
  /** The leader: this server while it serves, the election's leader while it is a standby, or none known. */
  leader(): KnownLeader | undefined;
  /** In the `failed` phase: the store's failure, with its cause, as every refusal carries it. */
  failure(): ApiError | undefined;
  core(): SchedulerCore | undefined;
  hub(): WatchHub | undefined;
  /** Where agents' shipped output is kept (the server's data folder); none: output lives on agents only. */
  outputs(): OutputKeeper | undefined;
  /** Every open WebSocket, so a stop can close them. */
  readonly sockets: Set<WebSocket<SocketState>>;
}

export function notReadyError(phase: GatewayPhase, leader?: KnownLeader): ApiError {
  if (phase === 'standby') {
    return apiError('MUSTER_ERR_NOT_LEADER', leader ? `this replica is a standby; the leader is ${leader.url} (epoch ${leader.epoch})` : 'this replica is a standby and no leader is elected right now; try again shortly', {
      retryAfterMs: NOT_LEADER_RETRY_AFTER_MS,
      ...(leader ? { leader } : {}),
    });
  }
  if (phase === 'failed') return apiError('MUSTER_ERR_STORE_FAILED', 'the event store failed: the server accepts nothing more and is exiting for its supervisor to restart it');
  return apiError('MUSTER_ERR_NOT_READY', phase === 'stopping' ? 'the server is stopping' : 'the server is recovering its state');
}

/** Why the gateway refuses work in its current phase (not `ready`): the store's failure with its cause, or not ready. */
export function unavailableError(ctx: GatewayContext): ApiError {
  return ctx.failure() ?? notReadyError(ctx.phase(), ctx.leader());
}

/** Ends an HTTP response with a JSON body (corked: one write). */
export function endJson(res: HttpResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  res.cork(() => {
    res.writeStatus(statusLine(status)).writeHeader('content-type', 'application/json');
    for (const [name, value] of Object.entries(headers)) res.writeHeader(name, value);
    res.end(JSON.stringify(body));
  });
}

/**
 * Checks a WebSocket upgrade before any socket is opened: the server must be ready, the token known, the
 * role allowed on the endpoint. Returns the principal, or answers the request itself and returns undefined.
 */
export function admitUpgrade(ctx: GatewayContext, res: HttpResponse, req: HttpRequest, allowed: (p: Principal) => boolean): Principal | undefined {
  if (ctx.phase() !== 'ready') {
    endJson(res, 503, unavailableError(ctx));
    return undefined;
  }
  const who = ctx.tokens.authenticate(req.getHeader('authorization'), req.getQuery('token') ?? '');
  if (isApiError(who)) {
    ctx.metrics.rejected(who.code);
    endJson(res, 401, who);
    return undefined;
  }
  if (!allowed(who)) {
    const error = apiError('MUSTER_ERR_FORBIDDEN', `role ${who.role} may not open ${req.getUrl()}`);
    ctx.metrics.rejected(error.code);
    endJson(res, 403, error);
    return undefined;
  }
  return who;
}

/**
 * What both WebSocket endpoints share: the limits (frame size, unsent bytes, idle time), no compression,
 * the upgrade check, and the bookkeeping of open sockets. `init` makes a connection's user data.
 */
export function socketBehaviour<T extends SocketState>(
  ctx: GatewayContext,
  endpoint: 'submit' | 'agent',
  allowed: (p: Principal) => boolean,
  init: (principal: Principal) => T,
): Required<Pick<WebSocketBehavior<T>, 'maxPayloadLength' | 'maxBackpressure' | 'idleTimeout' | 'sendPingsAutomatically' | 'compression' | 'upgrade'>> & {
  opened(ws: WebSocket<T>): void;
  closed(ws: WebSocket<T>): void;
} {
  return {
    maxPayloadLength: ctx.limits.maxFrameBytes,
    maxBackpressure: ctx.limits.maxUnsentBytes,
    idleTimeout: ctx.limits.idleTimeoutS,
    sendPingsAutomatically: true,
    compression: DISABLED,
    upgrade(res, req, context) {
      const principal = admitUpgrade(ctx, res, req, allowed);
      if (!principal) return;
      res.upgrade(init(principal), req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'), req.getHeader('sec-websocket-extensions'), context);
    },
    opened(ws) {
      ctx.sockets.add(ws as unknown as WebSocket<SocketState>);
      ctx.metrics.connection(endpoint, 1);
    },
    closed(ws) {
      ws.getUserData().closed = true;
      ctx.sockets.delete(ws as unknown as WebSocket<SocketState>);
      ctx.metrics.connection(endpoint, -1);
    },
  };
}
