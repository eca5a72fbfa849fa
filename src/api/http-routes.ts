/**
 * The HTTP JSON API (PROTOCOL.md, "HTTP routes"): one table of routes, each with the action it needs, and
 * one `serve` that every request goes through in the same order — readiness, token, role, tenant rate,
 * query parameters (only the route's, each once), body (bounded while it streams in), handler, answer. A
 * route not in the table is 404; a route with no token or a role without its action is refused before its
 * handler runs (default deny). Only `/healthz` and `/readyz` are public.
 */
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import type { ErrorCode } from '../errors/index.js';
import { NODE_STATES } from '../model/index.js';
import type { JobStatus } from '../scheduler/index.js';
import type { ApiError } from './api-error.js';
import { apiError, fromThrown, httpStatus, statusLine } from './api-error.js';
import type { Action, Principal } from './auth.js';
import { authorize, isApiError, seesTenant } from './auth.js';
import { encodeFrame } from './codec.js';
import type { GatewayContext } from './context.js';
import { endJson, unavailableError } from './context.js';
import { readClientRequest } from './frames.js';
import { DEFAULT_PAGE, MAX_PAGE } from './limits.js';
import { readOutput } from './output-read.js';
import { cancelJobs, completeSubmit, isPrepared, prepareSubmit } from './submissions.js';
import { ADMIN_ROUTES } from './admin-routes.js';
import { JOB_CONTROL_ROUTES } from './job-control-routes.js';

export interface Call {
  readonly principal: Principal;
  readonly params: readonly string[];
  readonly query: URLSearchParams;
  readonly body: unknown;
  /** Size of the body in bytes (0 without one). */
  readonly bodyBytes: number;
}

export type Answer =
  | { readonly status: number; readonly json: unknown; readonly headers?: Readonly<Record<string, string>> }
  | { readonly status: number; readonly text: string | Uint8Array; readonly contentType: string; readonly headers?: Readonly<Record<string, string>> };

export interface Route {
  readonly method: 'get' | 'post';
  readonly pattern: string;
  /** The action the route needs; `public` routes need no token. */
  readonly action: Action | 'public';
  /** The route reads a JSON body. */
  readonly body?: boolean;
  /** The handler charges the tenant's rate itself (submissions cost by their size). */
  readonly chargesRate?: boolean;
  /** A standby answers it too (it reads nothing of the scheduler's state). */
  readonly onStandby?: boolean;
  /** The query parameters it reads (none when absent); any other is refused before the handler runs. */
  readonly query?: readonly string[];
  handle(call: Call, ctx: GatewayContext): Answer | Promise<Answer>;
}

const JOB_STATUSES: readonly JobStatus[] = ['pending', 'placed', 'running', 'succeeded', 'failed', 'cancelled'];

function ok(json: unknown): Answer {
  return { status: 200, json };
}

function failure(error: ApiError): Answer {
  return { status: httpStatus(error.code), json: error, ...(error.retryAfterMs !== undefined ? { headers: { 'retry-after': String(Math.ceil(error.retryAfterMs / 1000)) } } : {}) };
}

function refused(code: ErrorCode, message: string, field?: string): Answer {
  return failure(apiError(code, message, field !== undefined ? { field } : {}));
}

/** Only the named query parameters, each at most once; anything else is refused like an unknown field. */
function queryOnly(query: URLSearchParams, allowed: readonly string[]): Answer | undefined {
  const seen = new Set<string>();
  for (const key of query.keys()) {
    if (!allowed.includes(key)) return refused('MUSTER_ERR_UNKNOWN_FIELD', `unknown query parameter ${key} (expected ${allowed.length > 0 ? `one of: ${allowed.join(', ')}` : 'none'})`, key);
    if (seen.has(key)) return refused('MUSTER_ERR_INVALID_VALUE', `${key}: given more than once`, key);
    seen.add(key);
  }
  return undefined;
}

/** A query parameter that must be one of `values` (absent or empty: undefined). */
function oneOf<T extends string>(query: URLSearchParams, key: string, values: readonly T[]): T | Answer | undefined {
  const raw = query.get(key);
  if (raw === null || raw === '') return undefined;
  if (!(values as readonly string[]).includes(raw)) return refused('MUSTER_ERR_INVALID_VALUE', `${key}: ${JSON.stringify(raw)} is not one of ${values.join(', ')}`, key);
  return raw as T;
}

function uintParam(query: URLSearchParams, key: string, min: number, max: number): number | Answer | undefined {
  const raw = query.get(key);
  if (raw === null || raw === '') return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n)) return refused('MUSTER_ERR_INVALID_TYPE', `${key}: expected an unsigned integer, got ${JSON.stringify(raw)}`, key);
  if (n < min || n > max) return refused('MUSTER_ERR_INVALID_VALUE', `${key}: ${n} is outside [${min}, ${max}]`, key);
  return n;
}

function isAnswer(value: unknown): value is Answer {
  return typeof value === 'object' && value !== null && 'status' in value;
}

/** One-job routes: 404 for no such job (`tenant` undefined), 403 for another tenant's (job ids are not secret, contents are). */
function jobAccess(principal: Principal, job: string, tenant: string | undefined): Answer | undefined {
  if (tenant === undefined) return refused('MUSTER_ERR_UNKNOWN_JOB', `job ${job} does not exist`);
  if (!seesTenant(principal, tenant)) return refused('MUSTER_ERR_FORBIDDEN', `job ${job} belongs to another tenant`);
  return undefined;
}

const ROUTES: readonly Route[] = [
  // Liveness: 503 only once the store has failed (the process is about to exit; a supervisor may restart it).
  {
    method: 'get',
    pattern: '/healthz',
    action: 'public',
    handle: (_call, ctx) => {
      const failure = ctx.failure();
      return failure ? { status: 503, json: { ok: false, ...failure } } : ok({ ok: true });
    },
  },
  // Readiness: 200 only while serving; recovering, stopping and a failed store are 503 with the reason.
  {
    method: 'get',
    pattern: '/readyz',
    action: 'public',
    handle: (_call, ctx) => (ctx.phase() === 'ready' ? ok({ ready: true }) : { status: 503, json: { ready: false, ...unavailableError(ctx) } }),
  },
  {
    method: 'get',
    pattern: '/metrics',
    action: 'metrics',
    onStandby: true,
    handle: async (_call, ctx) => {
      const { text, contentType } = await ctx.metrics.render();
      return { status: 200, text, contentType };
    },
  },
  {
    method: 'get',
    pattern: '/v1/jobs',
    action: 'read-jobs',
    query: ['queue', 'tenant', 'status', 'name', 'since', 'until', 'limit', 'after'],
    handle: async ({ principal, query }, ctx) => {
      const limit = uintParam(query, 'limit', 1, MAX_PAGE) ?? DEFAULT_PAGE;
      const after = uintParam(query, 'after', 0, Number.MAX_SAFE_INTEGER);
      if (isAnswer(limit)) return limit;
      if (isAnswer(after)) return after;
      const status = oneOf(query, 'status', JOB_STATUSES);
      if (isAnswer(status)) return status;
      // The submission time range, in ms since the epoch.
      const since = uintParam(query, 'since', 0, Number.MAX_SAFE_INTEGER);
      const until = uintParam(query, 'until', 0, Number.MAX_SAFE_INTEGER);
      if (isAnswer(since)) return since;
      if (isAnswer(until)) return until;
      const name = query.get('name') || undefined;
      let tenant = query.get('tenant') || undefined;
      if (principal.role === 'submitter') {
        if (tenant !== undefined && tenant !== principal.tenant) return refused('MUSTER_ERR_FORBIDDEN', 'a submitter may list only its own tenant', 'tenant');
        tenant = principal.tenant;
      }
      const queue = query.get('queue') || undefined;
      const page = await ctx.core()!.listJobs({
        limit,
        ...(after !== undefined ? { after } : {}),
        ...(tenant !== undefined ? { tenant } : {}),
        ...(status !== undefined ? { status } : {}),
        ...(queue !== undefined ? { queue } : {}),
        ...(name !== undefined ? { name } : {}),
        ...(since !== undefined ? { since } : {}),
        ...(until !== undefined ? { until } : {}),
      });
      return ok(page);
    },
  },
  {
    method: 'get',
    pattern: '/v1/jobs/:id',
    action: 'read-jobs',
    handle: async (call, ctx) => {
      const job = call.params[0]!;
      const detail = await ctx.core()!.jobDetail(job);
      return jobAccess(call.principal, job, detail?.tenant) ?? ok(detail);
    },
  },
  {
    method: 'get',
    pattern: '/v1/jobs/:id/why',
    action: 'read-jobs',
    handle: async (call, ctx) => {
      const job = call.params[0]!;
      const [owner] = await ctx.core()!.jobOwners([job]);
      // A job retired from the live state: its tenant is in the history.
      const tenant = owner?.tenant ?? (await ctx.core()!.jobDetail(job))?.tenant;
      const denied = jobAccess(call.principal, job, tenant);
      if (denied) return denied;
      const answer = await ctx.core()!.whyPending(job);
      if (answer.status !== 'pending') return ok({ job, status: answer.status, message: answer.message });
      const { why } = answer;
      return ok({ job, status: 'pending', position: why.position ?? null, reasons: why.reasons, ...(why.suggestion !== undefined ? { suggestion: why.suggestion } : {}) });
    },
  },
  {
    method: 'post',
    pattern: '/v1/jobs',
    action: 'submit',
    body: true,
    chargesRate: true,
    handle: async ({ principal, body, bodyBytes }, ctx) => {
      if (typeof body !== 'object' || body === null || Array.isArray(body)) return refused('MUSTER_ERR_INVALID_TYPE', 'the body must be a JSON object { jobs, tenant?, holdUnsatisfiable? }');
      const fields = body as Record<string, unknown>;
      for (const key of Object.keys(fields)) if (key !== 'jobs' && key !== 'tenant' && key !== 'holdUnsatisfiable') return refused('MUSTER_ERR_UNKNOWN_FIELD', `${key}: unknown field (expected one of: jobs, tenant, holdUnsatisfiable)`, key);
      const read = readClientRequest({ kind: 'submit', id: 0, jobs: fields['jobs'], tenant: fields['tenant'], holdUnsatisfiable: fields['holdUnsatisfiable'] }, ctx.limits);
      if (!read.ok) return failure(read.error);
      if (read.request.kind !== 'submit') return refused('MUSTER_ERR_INTERNAL', 'not a submit');
      // Spec sizes count in msgpack bytes, as on the WebSocket; measured only when the body could hold an oversized one.
      const sizes = bodyBytes > ctx.limits.maxSpecBytes ? read.request.jobs.map((j) => encodeFrame(j).length) : undefined;
      const prepared = prepareSubmit(principal, read.request, sizes, ctx.limits, ctx.rate);
      if (!isPrepared(prepared)) return failure(prepared);
      return ok({ results: await completeSubmit(ctx.core()!, prepared) });
    },
  },
  {
    method: 'post',
    pattern: '/v1/jobs/:id/cancel',
    action: 'cancel',
    handle: async (call, ctx) => {
      const results = await cancelJobs(ctx.core()!, call.principal, [call.params[0]!]);
      if (!Array.isArray(results)) return failure(results as ApiError);
      const [result] = results;
      return result!.ok ? ok(result) : refused(result!.code, result!.message);
    },
  },
  {
    method: 'get',
    pattern: '/v1/jobs/:id/logs',
    action: 'read-jobs',
    query: ['task', 'attempt', 'stream', 'offset'],
    handle: async ({ principal, params, query }, ctx) => {
      const job = params[0]!;
      const detail = await ctx.core()!.jobDetail(job);
      const denied = jobAccess(principal, job, detail?.tenant);
      if (denied || !detail) return denied!;
      const task = uintParam(query, 'task', 0, Math.max(0, detail.taskList.length - 1)) ?? 0;
      const offset = uintParam(query, 'offset', 0, Number.MAX_SAFE_INTEGER) ?? 0;
      if (isAnswer(task)) return task;
      if (isAnswer(offset)) return offset;
      const stream = oneOf(query, 'stream', ['stdout', 'stderr'] as const) ?? 'stdout';
      if (isAnswer(stream)) return stream;
      const record = detail.taskList[task]!;
      const attempt = uintParam(query, 'attempt', 1, Math.max(1, record.attempt)) ?? record.attempt;
      if (isAnswer(attempt)) return attempt;
      if (attempt === 0 || record.node === undefined) return refused('MUSTER_ERR_LOGS_UNAVAILABLE', `task ${task} of job ${job} has not run yet`);
      // An earlier attempt's output lies on the node it ran on, not the latest attempt's.
      const node = attempt === record.attempt ? record.node : record.nodes?.[attempt - 1];
      if (node === undefined) return refused('MUSTER_ERR_LOGS_UNAVAILABLE', `the node attempt ${attempt} of job ${job} task ${task} ran on is not known`);
      const live = attempt === record.attempt && (record.state === 'placed' || record.state === 'running');
      // From the agent, or from the control plane's copy of an ended attempt's output (output-read.ts).
      const read = await readOutput({ job, task, attempt, stream, offset, node, live, retired: detail.retired === true }, ctx.agents, ctx.outputs());
      if (!read.ok) return refused('MUSTER_ERR_LOGS_UNAVAILABLE', `the output of job ${job} task ${task} attempt ${attempt} cannot be read now: ${read.message}`);
      return {
        status: 200,
        text: read.data,
        contentType: 'application/octet-stream',
        headers: { ...read.headers, 'muster-attempt': String(attempt), 'muster-node': node, 'muster-running': String(live) },
      };
    },
  },
  {
    method: 'get',
    pattern: '/v1/queues',
    action: 'read-cluster',
    handle: async ({ principal }, ctx) => {
      // A submitter sees its own tenant's queues; admins and viewers see every tenant's.
      const queues = await ctx.core()!.queueViews();
      return ok({ queues: principal.role === 'submitter' ? queues.filter((q) => q.tenant === principal.tenant) : queues });
    },
  },
  {
    method: 'get',
    pattern: '/v1/nodes',
    action: 'read-cluster',
    query: ['site', 'state'],
    handle: async ({ query }, ctx) => {
      const site = query.get('site') || undefined;
      const state = oneOf(query, 'state', NODE_STATES);
      if (isAnswer(state)) return state;
      return ok({ nodes: await ctx.core()!.nodeViews({ ...(site !== undefined ? { site } : {}), ...(state !== undefined ? { state } : {}) }) });
    },
  },
  ...ADMIN_ROUTES,
  ...JOB_CONTROL_ROUTES,
  { method: 'get', pattern: '/v1/sites', action: 'read-cluster', handle: async (_call, ctx) => ok({ sites: await ctx.core()!.siteViews() }) },
  {
    method: 'get',
    pattern: '/v1/leader',
    action: 'read-cluster',
    onStandby: true,
    handle: (_call, ctx) => {
      const leader = ctx.leader();
      return ok({ leader: leader?.url ?? null, epoch: leader?.epoch ?? null, self: leader?.url === ctx.url(), role: ctx.phase() === 'ready' ? 'leader' : 'standby', replica: ctx.url() });
    },
  },
];

/** Reads a request body, refusing it (413, connection closed) as soon as it passes `limit` while streaming. */
function readBody(res: HttpResponse, limit: number, declared: number, done: (body: Buffer | ApiError) => void): void {
  if (declared > limit) return done(apiError('MUSTER_ERR_FRAME_TOO_LARGE', `the body is ${declared} bytes; the most is ${limit}`));
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  res.onData((chunk, isLast) => {
    if (over) return;
    size += chunk.byteLength;
    if (size > limit) {
      over = true;
      return done(apiError('MUSTER_ERR_FRAME_TOO_LARGE', `the body is past ${limit} bytes`));
    }
    chunks.push(Buffer.from(chunk.slice(0))); // uWS reuses the chunk's memory once this returns
    if (isLast) done(Buffer.concat(chunks, size));
  });
}

function write(res: HttpResponse, answer: Answer, close: boolean): void {
  res.cork(() => {
    res.writeStatus(statusLine(answer.status));
    for (const [name, value] of Object.entries(answer.headers ?? {})) res.writeHeader(name, value);
    if ('text' in answer) {
      res.writeHeader('content-type', answer.contentType);
      res.end(answer.text, close);
      return;
    }
    res.writeHeader('content-type', 'application/json');
    res.end(JSON.stringify(answer.json), close);
  });
}

function serve(ctx: GatewayContext, route: Route, res: HttpResponse, req: HttpRequest): void {
  // The request object is valid only now: read everything from it before anything asynchronous.
  const params = Array.from({ length: route.pattern.split(':').length - 1 }, (_, i) => decodeURIComponent(req.getParameter(i)));
  const query = new URLSearchParams(req.getQuery() ?? '');
  const authorization = req.getHeader('authorization');
  const declared = Number(req.getHeader('content-length') || 0);
  let aborted = false;
  res.onAborted(() => (aborted = true));
  const answer = (a: Answer, close = false): void => {
    if (aborted) return;
    aborted = true;
    if (a.status >= 400 && 'json' in a) ctx.metrics.rejected((a.json as { code?: ErrorCode }).code ?? 'MUSTER_ERR_INTERNAL');
    write(res, a, close);
  };
  ctx.metrics.request('http', `${route.method.toUpperCase()} ${route.pattern}`);

  let principal: Principal = { tenant: '', role: 'viewer' };
  if (route.action !== 'public') {
    const phase = ctx.phase();
    if (phase !== 'ready' && !(phase === 'standby' && route.onStandby === true)) return answer(failure(unavailableError(ctx)));
    const who = ctx.tokens.authenticate(authorization, '');
    if (isApiError(who)) return answer(failure(who));
    const denied = authorize(who, route.action);
    if (denied) return answer(failure(denied));
    if (!route.chargesRate) {
      const taken = ctx.rate.take(who.tenant, 1);
      if (!taken.ok) return answer(failure(apiError('MUSTER_ERR_RATE_LIMITED', `tenant ${who.tenant} is past its request rate; retry in ${taken.retryAfterMs} ms`, { retryAfterMs: taken.retryAfterMs })));
    }
    principal = who;
  }
  // Checked once the caller is known (an anonymous caller learns nothing of a route's parameters). A body
  // left unread closes the connection after the answer, as a refused body does.
  const wrongQuery = queryOnly(query, route.query ?? []);
  if (wrongQuery) return answer(wrongQuery, route.body === true);
  const run = (body: unknown, bodyBytes: number): void => {
    let result: Answer | Promise<Answer>;
    try {
      result = route.handle({ principal, params, query, body, bodyBytes }, ctx);
    } catch (err) {
      return answer(failure(fromThrown(err)));
    }
    Promise.resolve(result).then(answer, (err: unknown) => answer(failure(fromThrown(err))));
  };
  if (!route.body) return run(undefined, 0);
  readBody(res, ctx.limits.maxBodyBytes, declared, (body) => {
    if (!Buffer.isBuffer(body)) return answer(failure(body), true);
    let parsed: unknown;
    try {
      parsed = body.length === 0 ? undefined : JSON.parse(body.toString('utf8'));
    } catch (err) {
      return answer(refused('MUSTER_ERR_BAD_FRAME', `the body is not JSON: ${(err as Error).message}`));
    }
    run(parsed, body.length);
  });
}

export function httpRoutes(app: TemplatedApp, ctx: GatewayContext): void {
  for (const route of ROUTES) app[route.method](route.pattern, (res, req) => serve(ctx, route, res, req));
  app.any('/*', (res, req) => {
    ctx.metrics.rejected('MUSTER_ERR_NOT_FOUND');
    endJson(res, 404, apiError('MUSTER_ERR_NOT_FOUND', `no route ${req.getMethod().toUpperCase()} ${req.getUrl()}`));
  });
}

