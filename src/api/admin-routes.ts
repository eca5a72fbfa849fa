/**
 * The operators' HTTP routes (PROTOCOL.md, "HTTP routes"): draining and undraining nodes, defining and
 * deleting queues at run time. Admin only
 * (`administer`); served by `http-routes.ts`'s `serve` like every route (token, role, rate, body, handler).
 */
import { codeOf } from '../errors/index.js';
import type { Problem, QueueSpec } from '../model/index.js';
import { parseDuration, queueSetProblems, validateQueue } from '../model/index.js';
import { apiError, httpStatus } from './api-error.js';
import type { GatewayContext } from './context.js';
import type { Answer, Call, Route } from './http-routes.js';

function refuse(code: Parameters<typeof apiError>[0], message: string, field?: string): Answer {
  return { status: httpStatus(code), json: apiError(code, message, field !== undefined ? { field } : {}) };
}

/** A JSON object body with only `allowed` fields (an absent body is an empty object). */
function fieldsOf(call: Call, allowed: readonly string[]): Record<string, unknown> | Answer {
  if (call.body === undefined) return {};
  if (typeof call.body !== 'object' || call.body === null || Array.isArray(call.body)) return refuse('MUSTER_ERR_INVALID_TYPE', `the body must be a JSON object { ${allowed.map((f) => `${f}?`).join(', ')} }`);
  const fields = call.body as Record<string, unknown>;
  for (const key of Object.keys(fields)) if (!allowed.includes(key)) return refuse('MUSTER_ERR_UNKNOWN_FIELD', `${key}: unknown field (expected ${allowed.length > 0 ? `one of: ${allowed.join(', ')}` : 'none'})`, key);
  return fields;
}

function isAnswer(value: unknown): value is Answer {
  return typeof value === 'object' && value !== null && 'status' in value && typeof (value as { status: unknown }).status === 'number';
}

/** The core's coded refusal (an unknown node) as an answer; anything else goes on to `serve`'s catch. */
async function answered(work: Promise<unknown>, ok: unknown): Promise<Answer> {
  try {
    await work;
    return { status: 200, json: ok };
  } catch (err) {
    const code = codeOf(err);
    if (code === 'MUSTER_ERR_UNKNOWN_NODE') return refuse(code, (err as Error).message);
    throw err;
  }
}

/**
 * Most queues in one apply: far more than a cluster's tenants organise their work into (a tenant may make
 * 64 by naming them), few enough that one request is one small batch of events.
 */
export const MAX_QUEUES_PER_APPLY = 1_000;

/**
 * Every problem of a queue apply at once: each spec as `muster validate` checks it, a name given twice, and
 * a queue that would change tenant (its jobs are the old tenant's: a queue keeps the tenant it was made for).
 */
function queueProblems(input: readonly unknown[], tenants: ReadonlyMap<string, string>): { readonly specs: QueueSpec[]; readonly problems: Problem[] } {
  const specs: QueueSpec[] = [];
  const problems: Problem[] = [];
  const seen = new Map<string, number>();
  input.forEach((raw, i) => {
    const kind = (raw as { kind?: unknown } | null)?.kind;
    if (kind !== undefined && kind !== 'Queue') problems.push({ path: `queues[${i}].kind`, code: 'MUSTER_ERR_INVALID_VALUE', message: `${JSON.stringify(kind)} is not Queue` });
    const checked = validateQueue(raw);
    if (!checked.ok) for (const p of checked.problems) problems.push({ ...p, path: `queues[${i}]${p.path === '' ? '' : `.${p.path}`}` });
    // A name given twice is a problem even where the spec has others.
    const name = (raw as { name?: unknown } | null)?.name;
    const first = typeof name === 'string' ? seen.get(name) : undefined;
    if (first !== undefined) problems.push({ path: `queues[${i}].name`, code: 'MUSTER_ERR_INVALID_VALUE', message: `queue ${String(name)} is also queues[${first}]` });
    if (typeof name === 'string' && first === undefined) seen.set(name, i);
    if (!checked.ok) return;
    const spec = checked.value;
    const owner = tenants.get(spec.name);
    if (owner !== undefined && owner !== spec.tenant) {
      problems.push({ path: `queues[${i}].tenant`, code: 'MUSTER_ERR_INVALID_VALUE', message: `queue ${spec.name} belongs to tenant ${owner}; a queue's tenant does not change` });
    }
    specs.push(spec);
  });
  return { specs, problems };
}

/**
 * How the applied queues agree with the rest once applied (model/queue-set.ts): parents exist, children
 * stay with their parent's tenant, a parent's guarantee bounds its children's.
 */
function treeProblems(existing: readonly QueueSpec[], applied: readonly QueueSpec[], input: readonly unknown[]): Problem[] {
  const all = new Map(existing.map((q) => [q.name, q]));
  const where = new Map<string, string>();
  for (const q of applied) {
    all.set(q.name, q);
    where.set(q.name, `queues[${input.findIndex((raw) => (raw as { name?: unknown } | null)?.name === q.name)}]`);
  }
  return queueSetProblems(all, where);
}

/**
 * A POST route whose body is `{ queues }`, a list of 1 to `MAX_QUEUES_PER_APPLY` items (`what` they are,
 * for the refusal), admin only; `handle` gets the list.
 */
function queuesRoute(pattern: string, what: string, handle: (list: unknown[], ctx: GatewayContext) => Promise<Answer>): Route {
  return {
    method: 'post',
    pattern,
    action: 'administer',
    body: true,
    handle: (call, ctx) => {
      const fields = fieldsOf(call, ['queues']);
      if (isAnswer(fields)) return fields;
      const list = fields['queues'];
      if (list === undefined) return refuse('MUSTER_ERR_REQUIRED', `queues: a list of ${what} is required`, 'queues');
      if (!Array.isArray(list)) return refuse('MUSTER_ERR_INVALID_TYPE', `queues: expected a list of ${what}`, 'queues');
      if (list.length === 0 || list.length > MAX_QUEUES_PER_APPLY) return refuse('MUSTER_ERR_INVALID_VALUE', `queues: 1 to ${MAX_QUEUES_PER_APPLY} ${what}, not ${list.length}`, 'queues');
      return handle(list, ctx);
    },
  };
}

/** Every problem at once: the first names the code, the field and how many more there are. */
function refusedAll(status: number, what: string, problems: readonly Problem[]): Answer {
  const first = problems[0]!;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  return { status, json: apiError(first.code, `${what}: ${first.path}: ${first.message}${more}`, { field: first.path, problems }) };
}

export const ADMIN_ROUTES: readonly Route[] = [
  queuesRoute('/v1/queues', 'queue specs', async (list, ctx) => {
    const core = ctx.core()!;
    const existing = await core.queueSpecs();
    const known = new Map(existing.map((q) => [q.name, q.tenant]));
    const { specs, problems } = queueProblems(list, known);
    problems.push(...treeProblems(existing, specs, list));
    if (problems.length > 0) return refusedAll(400, 'invalid queues', problems);
    await core.defineQueues(specs);
    return { status: 200, json: { applied: specs.map((s) => ({ name: s.name, tenant: s.tenant, created: !known.has(s.name) })) } };
  }),
  // POST with the names in the body, not DELETE /v1/queues/{name}: queue names nest (`acme/ml/train`), and
  // a parent may go only with its children, in one request.
  queuesRoute('/v1/queues/delete', 'queue names', async (list, ctx) => {
    const typed: Problem[] = [];
    list.forEach((name, i) => {
      if (typeof name !== 'string') typed.push({ path: `queues[${i}]`, code: 'MUSTER_ERR_INVALID_TYPE', message: `expected a queue name, not ${JSON.stringify(name)}` });
    });
    if (typed.length > 0) return refusedAll(400, 'queues not deleted', typed);
    const names = list as string[];
    const result = await ctx.core()!.deleteQueues(names);
    if (result.ok) return { status: 200, json: { deleted: names } };
    // The dispatcher's refusal says every problem already (its message names the first and counts the rest).
    const problems = result.problems ?? [];
    const first = problems[0];
    return { status: httpStatus(result.code), json: apiError(result.code, result.message, first ? { field: first.path, problems } : {}) };
  }),
  {
    method: 'post',
    pattern: '/v1/nodes/:name/drain',
    action: 'administer',
    body: true,
    handle: (call, ctx) => {
      const fields = fieldsOf(call, ['deadline']);
      if (isAnswer(fields)) return fields;
      let deadlineMs: number | undefined;
      if (fields['deadline'] !== undefined && fields['deadline'] !== null) {
        const parsed = parseDuration(fields['deadline']);
        if (!parsed.ok) return refuse('MUSTER_ERR_INVALID_VALUE', `deadline: ${parsed.message}`, 'deadline');
        deadlineMs = parsed.value;
      }
      const node = call.params[0]!;
      return answered(ctx.core()!.drainNode(node, deadlineMs), { node, drained: true, ...(deadlineMs !== undefined ? { deadlineMs } : {}) });
    },
  },
  {
    method: 'post',
    pattern: '/v1/nodes/:name/undrain',
    action: 'administer',
    body: true,
    handle: (call, ctx) => {
      const fields = fieldsOf(call, []);
      if (isAnswer(fields)) return fields;
      const node = call.params[0]!;
      return answered(ctx.core()!.undrainNode(node), { node, drained: false });
    },
  },
];
