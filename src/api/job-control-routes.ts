/**
 * The job verbs Slurm users know from `scontrol hold|release|requeue` (PROTOCOL.md, "HTTP routes"): the
 * submitter of the job's tenant or an admin, like cancel. Each answers `{ job, ok: true }` once its event
 * is durable (hold, release) or its kills are on their way (requeue).
 */
import { codeOf } from '../errors/index.js';
import type { SchedulerCore } from '../scheduler/index.js';
import { apiError, httpStatus } from './api-error.js';
import { seesTenant } from './auth.js';
import type { Answer, Route } from './http-routes.js';

function refuse(code: Parameters<typeof apiError>[0], message: string): Answer {
  return { status: httpStatus(code), json: apiError(code, message) };
}

type Verb = 'hold' | 'release' | 'requeue';

function verbRoute(verb: Verb, run: (core: SchedulerCore, job: string) => Promise<void>): Route {
  return {
    method: 'post',
    pattern: `/v1/jobs/:id/${verb}`,
    action: 'cancel',
    handle: async (call, ctx) => {
      const job = call.params[0]!;
      const core = ctx.core()!;
      const [owner] = await core.jobOwners([job]);
      if (!owner) {
        const retired = await core.jobDetail(job);
        if (!retired) return refuse('MUSTER_ERR_UNKNOWN_JOB', `job ${job} does not exist`);
        if (!seesTenant(call.principal, retired.tenant)) return refuse('MUSTER_ERR_FORBIDDEN', `job ${job} belongs to another tenant`);
        return refuse('MUSTER_ERR_JOB_ENDED', `job ${job} already ${retired.status} (retired from the live state)`);
      }
      if (!seesTenant(call.principal, owner.tenant)) return refuse('MUSTER_ERR_FORBIDDEN', `job ${job} belongs to another tenant`);
      try {
        await run(core, job);
      } catch (err) {
        const code = codeOf(err);
        if (code === 'MUSTER_ERR_UNKNOWN_JOB' || code === 'MUSTER_ERR_JOB_ENDED' || code === 'MUSTER_ERR_NOT_RUNNING') return refuse(code, (err as Error).message);
        throw err;
      }
      return { status: 200, json: { job, ok: true } };
    },
  };
}

export const JOB_CONTROL_ROUTES: readonly Route[] = [
  verbRoute('hold', (core, job) => core.hold(job)),
  verbRoute('release', (core, job) => core.release(job)),
  verbRoute('requeue', (core, job) => core.requeue(job)),
];
