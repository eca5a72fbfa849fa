import { jobVerbCommand } from './job-verb.js';

export const holdCommand = jobVerbCommand({
  name: 'hold',
  done: 'held',
  summary: 'hold jobs: their pending tasks are not placed until released',
  usage: `usage: muster hold ID...

Holds each job (like scontrol hold): its pending tasks are not placed until muster release; tasks already
running go on. muster why says the job is held. Prints "held ID" per job; exits 1 if any job could not be
held (unknown, ended, not yours).`,
  apply: (client, job) => client.hold(job),
});
