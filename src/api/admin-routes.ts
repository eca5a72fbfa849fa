/**
 * The operators' HTTP routes (PROTOCOL.md, "HTTP routes"): draining and undraining nodes. Admin only
 * (`administer`); served by `http-routes.ts`'s `serve` like every route (token, role, rate, body, handler).
 */
import { codeOf } from '../errors/index.js';
import { parseDuration } from '../model/index.js';
import { apiError, httpStatus } from './api-error.js';
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

export const ADMIN_ROUTES: readonly Route[] = [
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
