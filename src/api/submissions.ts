/**
 * Submitting and cancelling jobs: the work shared by the WebSocket `submit`/`cancel` frames and the HTTP
 * routes. A submission is two steps:
 *
 * 1. `prepareSubmit` — synchronous, and all of the gateway's per-job CPU work: the role check, the tenant's
 *    rate limit, each spec's encoded size and its validation (the model's `validateJob`, every problem with
 *    its path). Refusals of the whole batch come back as an `ApiError`; bad jobs get their own result. This
 *    is what the `decode-validate` benchmark measures (after decoding the frame).
 * 2. `completeSubmit` — hands the valid specs to the scheduler in one message and resolves once they are
 *    durable (the dispatcher replies only then), merging its answers into the per-job results.
 */
import { codeOf } from '../errors/index.js';
import type { ErrorCode } from '../errors/index.js';
import type { JobSpec, Problem } from '../model/index.js';
import { formatProblem, limits as modelLimits, validateJob } from '../model/index.js';
import type { SchedulerCore } from '../scheduler/index.js';
import type { ApiError } from './api-error.js';
import { apiError } from './api-error.js';
import type { Principal } from './auth.js';
import { authorize, seesTenant } from './auth.js';
import type { GatewayLimits } from './limits.js';
import { JOBS_PER_REQUEST_UNIT } from './limits.js';
import type { RateLimiter } from './rate-limit.js';
import { decodeRawJob } from './codec.js';
import { RawJob, readRawJob } from './job-reader.js';

export type JobResult =
  | { readonly ok: true; readonly job: string; readonly existing?: true }
  | { readonly ok: false; readonly code: ErrorCode; readonly message: string; readonly problems?: readonly Problem[] };

export type CancelResult = { readonly job: string; readonly ok: true } | { readonly job: string; readonly ok: false; readonly code: ErrorCode; readonly message: string };

export interface PreparedSubmit {
  readonly tenant: string;
  /** The valid specs, in batch order. */
  readonly specs: readonly JobSpec[];
  /** One per job of the batch: the refusal of an invalid job, or undefined where a spec was accepted. */
  readonly results: (JobResult | undefined)[];
  /** Keep jobs no known node could ever run, pending, instead of refusing them. */
  readonly holdUnsatisfiable: boolean;
}

/** A tenant is named like the model's other names (a DNS label): the same check as a queue's tenant. */
const TENANT = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

export function isTenantName(name: string): boolean {
  return name.length <= modelLimits.MAX_NAME_LENGTH && TENANT.test(name);
}

function invalid(problems: readonly Problem[]): JobResult {
  const first = problems[0]!;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  return { ok: false, code: first.code, message: `invalid job spec: ${formatProblem(first)}${more}`, problems };
}

/**
 * Step 1 of a submission (see the module comment). `jobSizes` are the encoded sizes of the jobs (from the
 * frame scan); undefined when the whole frame is within the spec limit, so no job can be past it.
 */
export function prepareSubmit(
  principal: Principal,
  request: { readonly jobs: readonly unknown[]; readonly tenant?: string; readonly holdUnsatisfiable?: boolean },
  jobSizes: readonly number[] | undefined,
  limits: Pick<GatewayLimits, 'maxSpecBytes'>,
  rate: RateLimiter,
): PreparedSubmit | ApiError {
  const denied = authorize(principal, 'submit');
  if (denied) return denied;
  let tenant = principal.tenant;
  if (request.tenant !== undefined && request.tenant !== principal.tenant) {
    if (principal.role !== 'admin') return apiError('MUSTER_ERR_FORBIDDEN', 'only an admin may submit on behalf of another tenant', { field: 'tenant' });
    if (!isTenantName(request.tenant)) return apiError('MUSTER_ERR_INVALID_NAME', `tenant: ${JSON.stringify(request.tenant)} is not a tenant name`, { field: 'tenant' });
    tenant = request.tenant;
  }
  const taken = rate.take(tenant, 1 + request.jobs.length / JOBS_PER_REQUEST_UNIT);
  if (!taken.ok) return apiError('MUSTER_ERR_RATE_LIMITED', `tenant ${tenant} is past its request rate; retry in ${taken.retryAfterMs} ms`, { retryAfterMs: taken.retryAfterMs });
  const specs: JobSpec[] = [];
  const results: (JobResult | undefined)[] = new Array<JobResult | undefined>(request.jobs.length).fill(undefined);
  for (let i = 0; i < request.jobs.length; i++) {
    const size = jobSizes?.[i];
    if (size !== undefined && size > limits.maxSpecBytes) {
      results[i] = { ok: false, code: 'MUSTER_ERR_SPEC_TOO_LARGE', message: `the job spec is ${size} bytes of msgpack; the most is ${limits.maxSpecBytes}` };
      continue;
    }
    const job = request.jobs[i];
    // A job still in its frame's bytes: the one-pass reader, or (for anything it does not prove valid)
    // the job decoded and the model's validateJob, whose answer is the reference (job-reader.ts).
    const fast = job instanceof RawJob ? readRawJob(job) : undefined;
    if (fast !== undefined) {
      specs.push(fast);
      continue;
    }
    let input: unknown = job;
    if (job instanceof RawJob) {
      try {
        input = decodeRawJob(job);
      } catch (err) {
        // Not expected: the frame scan checked these bytes. Refused alone rather than thrown in the handler.
        results[i] = { ok: false, code: 'MUSTER_ERR_BAD_FRAME', message: `the job is not msgpack: ${(err as Error).message}` };
        continue;
      }
    }
    const checked = validateJob(input);
    if (checked.ok) specs.push(checked.value);
    else results[i] = invalid(checked.problems);
  }
  return { tenant, specs, results, holdUnsatisfiable: request.holdUnsatisfiable === true };
}

export function isPrepared(value: PreparedSubmit | ApiError): value is PreparedSubmit {
  return 'specs' in value;
}

/** Step 2: the valid specs to the scheduler; resolves once they are durable, with one result per job. */
export async function completeSubmit(core: SchedulerCore, prepared: PreparedSubmit): Promise<JobResult[]> {
  const answers = prepared.specs.length > 0 ? await core.submit(prepared.tenant, prepared.specs, { holdUnsatisfiable: prepared.holdUnsatisfiable }) : [];
  let next = 0;
  return prepared.results.map((result): JobResult => {
    if (result) return result;
    const answer = answers[next++];
    if (!answer) return { ok: false, code: 'MUSTER_ERR_INTERNAL', message: 'the scheduler gave no answer for this job' };
    if (!answer.ok) return { ok: false, code: answer.code, message: answer.message, ...(answer.problems ? { problems: answer.problems } : {}) };
    return answer.existing ? { ok: true, job: answer.job, existing: true } : { ok: true, job: answer.job };
  });
}

/** A job the live state does not know: retired (it ended; read from the history), or unknown. */
async function retiredOrUnknown(core: SchedulerCore, principal: Principal, job: string): Promise<CancelResult> {
  const retired = await core.jobDetail(job);
  if (!retired) return { job, ok: false, code: 'MUSTER_ERR_UNKNOWN_JOB', message: `job ${job} does not exist` };
  if (!seesTenant(principal, retired.tenant)) return { job, ok: false, code: 'MUSTER_ERR_FORBIDDEN', message: `job ${job} belongs to another tenant` };
  return { job, ok: false, code: 'MUSTER_ERR_JOB_ENDED', message: `job ${job} already ${retired.status} (retired from the live state)` };
}

/** `j-7[4]`: element 4 of array job j-7 (PROTOCOL.md, `cancel`); anything else names a whole job. */
const ELEMENT_REF = /^(.+)\[(\d{1,9})\]$/;

export function parseJobRef(ref: string): { readonly job: string; readonly element?: number } {
  const m = ELEMENT_REF.exec(ref);
  return m ? { job: m[1]!, element: Number(m[2]) } : { job: ref };
}

/**
 * Cancels jobs (or, written `ID[N]`, one element of an array job), each on its own: one that does not exist, belongs to a tenant the principal may not touch,
 * or has ended gets its refusal; the others resolve once their cancel requests are durable.
 */
export async function cancelJobs(core: SchedulerCore, principal: Principal, jobs: readonly string[]): Promise<CancelResult[] | ApiError> {
  const denied = authorize(principal, 'cancel');
  if (denied) return denied;
  const refs = jobs.map(parseJobRef);
  const owners = await core.jobOwners(refs.map((r) => r.job));
  const pending = new Map<string, Promise<CancelResult>>();
  return Promise.all(
    jobs.map((job, i): Promise<CancelResult> | CancelResult => {
      const owner = owners[i];
      const ref = refs[i]!;
      if (!owner) return retiredOrUnknown(core, principal, ref.job).then((r) => ({ ...r, job }));
      if (!seesTenant(principal, owner.tenant)) return { job, ok: false, code: 'MUSTER_ERR_FORBIDDEN', message: `job ${job} belongs to another tenant` };
      if (owner.outcome) return { job, ok: false, code: 'MUSTER_ERR_JOB_ENDED', message: `job ${job} already ${owner.outcome}` };
      let result = pending.get(job);
      if (!result) {
        result = core.cancel(ref.job, ref.element).then(
          (): CancelResult => ({ job, ok: true }),
          (err: unknown): CancelResult => ({ job, ok: false, code: codeOf(err) ?? 'MUSTER_ERR_INTERNAL', message: (err as Error).message }),
        );
        pending.set(job, result);
      }
      return result;
    }),
  );
}

