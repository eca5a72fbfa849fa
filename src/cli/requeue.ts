import { jobVerbCommand } from './job-verb.js';

export const requeueCommand = jobVerbCommand({
  name: 'requeue',
  done: 'requeued',
  summary: "requeue running jobs: their tasks are killed and wait again, no retry spent",
  usage: `usage: muster requeue ID...

Requeues each job (like scontrol requeue): its placed and running tasks are killed and go back to pending,
to run again as a new attempt, without counting against the job's retries. A job with nothing placed or
running is refused (MUSTER_ERR_NOT_RUNNING), an ended one too (MUSTER_ERR_JOB_ENDED: submit it again).
Prints "requeued ID" per job once its kills are on their way.`,
  apply: (client, job) => client.requeue(job),
});
